package auth

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// callErr builds the error MSAL returns for a non-2xx answer.
func callErr(status int, header http.Header, body string) error {
	return fmt.Errorf("ResolveEndpoints(): %w", msalerrors.CallErr{
		Resp: &http.Response{StatusCode: status, Header: header},
		Err:  fmt.Errorf("http call(https://login.example/t/oauth2/v2.0/token)(POST) error: reply status code was %d:\n%s", status, body),
	})
}

func TestRefusal(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		code     int
		desc     string
		hintPart string
	}{
		{
			name: "json body",
			err:  callErr(401, nil, `{"error":"invalid_client","error_description":"AADSTS700027: Client assertion failed.\r\nTrace ID: 1\r\nCorrelation ID: 2","error_codes":[700027]}`),
			code: 700027, desc: "AADSTS700027: Client assertion failed. Trace ID: 1 Correlation ID: 2", hintPart: "not registered",
		},
		{
			name: "code only in the text",
			err:  callErr(400, nil, `<html>AADSTS90002: Tenant 'x' not found.</html>`),
			code: 90002, hintPart: "authorityHostUrl",
		},
		{name: "expired assertion", err: callErr(400, nil, `{"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range.","error_codes":[700024]}`), code: 700024, hintPart: "clock"},
		{name: "resource", err: callErr(400, nil, `{"error":"invalid_resource","error_description":"AADSTS500011: The resource principal named https://manage.office.com was not found","error_codes":[500011]}`), code: 500011, hintPart: "resource"},
		{name: "secret", err: callErr(401, nil, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}`), code: 7000215, hintPart: "secret"},
		{name: "expired secret", err: callErr(401, nil, `{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys are expired.","error_codes":[7000222]}`), code: 7000222, hintPart: "expired"},
		{name: "unknown code", err: callErr(400, nil, `{"error":"x","error_description":"AADSTS1: odd","error_codes":[1]}`), code: 1, desc: "AADSTS1: odd"},
		{name: "not azure ad", err: callErr(404, nil, "page not found"), code: 0, hintPart: "authorityHostUrl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := refusal(tt.err)
			if e.Code != tt.code || !strings.Contains(e.Hint, tt.hintPart) {
				t.Errorf("code %d hint %q", e.Code, e.Hint)
			}
			if tt.desc != "" && e.Description != tt.desc {
				t.Errorf("description %q, want %q", e.Description, tt.desc)
			}
			if !errors.Is(e, tt.err) {
				t.Error("does not unwrap to the MSAL error")
			}
		})
	}
}

func TestTransient(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		err   error
		retry bool
		after time.Duration
	}{
		{"503", callErr(503, nil, "{}"), true, 0},
		{"502 html", callErr(502, nil, "<html>bad gateway</html>"), true, 0},
		{"429 with seconds", callErr(429, http.Header{"Retry-After": {"7"}}, ""), true, 7 * time.Second},
		{"503 with date", callErr(503, http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, ""), true, 90 * time.Second},
		{"408", callErr(408, nil, ""), true, 0},
		{"400 refusal", callErr(400, nil, `{"error":"invalid_client"}`), false, 0},
		{"401 refusal", callErr(401, nil, `{"error":"invalid_client"}`), false, 0},
		{"connection refused", &url.Error{Op: "Post", URL: "https://x", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, true, 0},
		{"connection dropped", fmt.Errorf("server response error:\n %w", &url.Error{Op: "Post", URL: "https://x", Err: io.EOF}), true, 0},
		{"unknown host", &url.Error{Op: "Post", URL: "https://x", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}, false, 0},
		{"untrusted certificate", &url.Error{Op: "Post", URL: "https://x", Err: x509.UnknownAuthorityError{}}, false, 0},
		{"other", errors.New("bug"), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			retry, after := transient(tt.err, now)
			if retry != tt.retry || after != tt.after {
				t.Errorf("got %v %v, want %v %v", retry, after, tt.retry, tt.after)
			}
		})
	}
}
