package auth

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
	"github.com/o365logfetch/o365logfetch/internal/exit"
	"github.com/o365logfetch/o365logfetch/internal/retry"
)

// Error is Azure AD refusing the token request (the CLI maps it to exit
// code 3). Code is the AADSTS number when Azure AD sent one, else 0.
type Error struct {
	Code        int
	Description string // Azure AD's error_description (with its trace and correlation IDs), or MSAL's text
	Hint        string // what the code usually means and what to check; "" when unknown
	Err         error  // the error MSAL returned
}

func (e *Error) Error() string {
	msg := "azure ad refused the token request: " + e.Description
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ExitCode is exit.Auth.
func (e *Error) ExitCode() exit.Code { return exit.Auth }

// hints are the AADSTS codes a misconfigured collector meets.
var hints = map[int]string{
	700027:  "the certificate is not registered on the app registration, or the private key does not belong to it: upload the certificate under Certificates & secrets and check privateKeyFile and thumbprint",
	700016:  "no such application in this tenant: check clientId, tenant and tenantId, and that an admin consented to the app in this tenant",
	90002:   "tenant not found: check tenant and tenantId, and that authorityHostUrl is the tenant's cloud (login.microsoftonline.us for GCC High and DoD)",
	7000215: "invalid client secret: use the secret's value, not its ID",
	500011:  "the resource is not in this tenant: check resource matches the tenant's cloud (https://manage.office.com, https://manage-gcc.office.com, https://manage.office365.us, https://manage.protection.apps.mil)",
	700024:  "the client assertion is outside its validity window: check the system clock (NTP)",
	7000222: "the client secret has expired: create a new one on the app registration",
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d+)`)

// aadBody is the JSON Azure AD sends with an error.
type aadBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
}

// refusal turns an error MSAL returned for a refused request into *Error.
func refusal(err error) *Error {
	text := err.Error()
	e := &Error{Description: text, Err: err}
	// MSAL's text is "http call(URL)(POST) error: reply status code was 401:\n{body}".
	if i := strings.Index(text, "{"); i >= 0 {
		var b aadBody
		if json.Unmarshal([]byte(text[i:]), &b) == nil && (b.Description != "" || b.Error != "") {
			e.Description = strings.Join(strings.Fields(b.Description), " ")
			if e.Description == "" {
				e.Description = b.Error
			}
			if len(b.Codes) > 0 {
				e.Code = b.Codes[0]
			}
		}
	}
	if e.Code == 0 {
		if m := aadstsRE.FindStringSubmatch(e.Description); m != nil {
			e.Code, _ = strconv.Atoi(m[1])
		}
	}
	e.Hint = hints[e.Code]
	if e.Code == 0 {
		var ce msalerrors.CallErr
		if errors.As(err, &ce) && ce.Resp != nil && ce.Resp.StatusCode == http.StatusNotFound {
			e.Hint = "the login host answered 404: check authorityHostUrl"
		}
	}
	return e
}

// transient reports whether a failed token request may succeed when
// retried, and the wait the server asked for (0 when none).
func transient(err error, now time.Time) (bool, time.Duration) {
	var ce msalerrors.CallErr
	if errors.As(err, &ce) && ce.Resp != nil {
		switch s := ce.Resp.StatusCode; {
		case s == http.StatusTooManyRequests, s == http.StatusRequestTimeout, s >= 500:
			return true, retry.ParseRetryAfter(ce.Resp.Header.Get("Retry-After"), now)
		}
		return false, 0
	}
	// Certificate problems and unknown hosts will not heal by retrying.
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var cie x509.CertificateInvalidError
	var tve *tls.CertificateVerificationError
	var dns *net.DNSError
	switch {
	case errors.As(err, &uae), errors.As(err, &hne), errors.As(err, &cie), errors.As(err, &tve):
		return false, 0
	case errors.As(err, &dns) && dns.IsNotFound:
		return false, 0
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true, 0
	}
	return false, 0
}

// isHTTPStatus reports whether err carries an HTTP answer, i.e. whether
// Azure AD (or something in its place) answered at all.
func isHTTPStatus(err error) bool {
	var ce msalerrors.CallErr
	return errors.As(err, &ce) && ce.Resp != nil
}
