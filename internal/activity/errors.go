package activity

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/o365logfetch/o365logfetch/internal/exit"
)

// APIError is an answer of the Activity API other than success.
type APIError struct {
	Op      string // what we were doing: "list Audit.Exchange", "download <contentId>", ...
	Status  int    // HTTP status
	Code    string // AF code from the JSON body, "" when the body had none (HTML gateway pages)
	Message string // the API's message, or a short excerpt of a non-JSON body
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s: HTTP %d", e.Op, e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if hint := codeHints[e.Code]; hint != "" {
		msg += " (" + hint + ")"
	}
	return msg
}

// ExitCode is exit.Auth for an answer that no request of the run can get past (see Fatal),
// else exit.Incomplete: what failed stays pending and the next run retries it.
func (e *APIError) ExitCode() exit.Code {
	if e.fatal() {
		return exit.Auth
	}
	return exit.Incomplete
}

// Codes the fetch branches on. The table of what each means lives in codeHints.
const (
	CodeNoPermission       = "AF10001"
	CodeInvalidContentType = "AF20020"
	CodeNoSubscription     = "AF20022"
	CodeSubscriptionOff    = "AF20023"
	CodeAlreadyEnabled     = "AF20024"
	CodeStalePage          = "AF20031"
	CodeBadWindow          = "AF20055"
	CodeBadWindowOld       = "AF20030"
	CodeContentExpired     = "AF20051"
	CodeContentUnknown     = "AF20052"
	CodeThrottled          = "AF429"
)

// codeHints says what an AF code usually means for the person reading the log.
var codeHints = map[string]string{
	"AF10001": "the token lacks the ActivityFeed.Read application permission, or admin consent is missing",
	"AF20001": "the tenant is not known to the Activity API; check tenantId",
	"AF20002": "the tenant is not known to the Activity API; check tenantId",
	"AF20003": "the tenant is not known to the Activity API; check tenantId",
	"AF20010": "the tenantId in activityApiRoot does not match the tenant of the token; check tenant and tenantId",
	"AF20011": "the tenant does not exist or is not provisioned for the Activity API; check tenantId",
	"AF20012": "the tenant does not exist or is not provisioned for the Activity API; check tenantId",
	"AF20013": "the tenant does not exist or is not provisioned for the Activity API; check tenantId",
	"AF20020": "invalid content type",
	"AF20021": "the webhook of the subscription is invalid",
	"AF20022": "no subscription for this content type: set autoStartSubscriptions = True or run 'o365logfetch subscriptions start'",
	"AF20023": "the subscription was disabled by an administrator: run 'o365logfetch subscriptions start'",
	"AF20030": "start/end time rejected by the API: check the machine clock",
	"AF20031": "the next-page token is no longer valid",
	"AF20051": "the content expired: Microsoft keeps content for 7 days after it becomes available",
	"AF20052": "the content id is not known to the API",
	"AF20055": "start/end time rejected by the API: check the machine clock",
	"AF429":   "throttled by Microsoft",
}

// Fatal reports whether err means no request of this run can succeed (permission, tenant,
// authentication), so the run stops instead of trying every content type.
func Fatal(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.fatal()
}

func (e *APIError) fatal() bool {
	if e.Status == http.StatusUnauthorized {
		return true
	}
	switch e.Code {
	case "AF10001", "AF20001", "AF20002", "AF20003", "AF20010", "AF20011", "AF20012", "AF20013":
		return true
	}
	return false
}

// HasCode reports whether err is an *APIError with one of the codes.
func HasCode(err error, codes ...string) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code == c {
			return true
		}
	}
	return false
}

// maxErrorBody bounds how much of an error answer is read: they are small, gateway pages too.
const maxErrorBody = 64 << 10

// readAPIError builds an *APIError from a non-2xx answer. The body may be JSON
// ({"error":{"code":..,"message":..}}) or anything else (HTML from a gateway): never assume JSON.
func readAPIError(op string, resp *http.Response) *APIError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{Op: op, Status: resp.StatusCode}
	e.Code, e.Message = parseErrorBody(body)
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		// The API never redirects; following one would send the token wherever it points.
		e.Message = fmt.Sprintf("redirect to %q refused: the token is sent only to the configured API host", oneLine(resp.Header.Get("Location"), 200))
	}
	return e
}

func parseErrorBody(body []byte) (code, message string) {
	var doc struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &doc) == nil && (doc.Error.Code != "" || doc.Error.Message != "") {
		return doc.Error.Code, oneLine(doc.Error.Message, 300)
	}
	return "", oneLine(string(body), 200)
}

// oneLine shortens s to n runes on a single line, so a gateway page does not flood the log.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
