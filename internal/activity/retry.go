package activity

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/retry"
)

// Retry is the retry policy of every API request.
type Retry = retry.Policy

// DefaultRetry rides out a few minutes of throttling or a gateway outage, then gives up so the
// blob stays pending for the next run rather than the run hanging forever under cron.
var DefaultRetry = Retry{Attempts: 8, Base: time.Second, Cap: 60 * time.Second, RetryAfterCap: 120 * time.Second, Budget: 5 * time.Minute}

// transient reports whether a failed request is worth another try.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var e *APIError
	if !errors.As(err, &e) {
		// Transport errors: refused or dropped connections, timeouts, resets, a body cut short.
		var te *transportError
		return errors.As(err, &te)
	}
	return retryableAnswer(e)
}

func retryableAnswer(e *APIError) bool {
	switch {
	case e.Status >= 500, e.Status == http.StatusRequestTimeout, e.Status == http.StatusTooManyRequests:
		return true
	case throttled(e):
		return true
	}
	switch e.Code {
	case "AF50000", "AF50005", "AF50006":
		return true
	}
	return false
}

// throttled recognises Microsoft's throttling answers: HTTP 429, or HTTP 403 carrying AF429.
func throttled(e *APIError) bool {
	return e.Status == http.StatusTooManyRequests || (e.Status == http.StatusForbidden && e.Code == CodeThrottled)
}

// transportError marks a failure below HTTP (connection, TLS, timeout, body cut short).
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }
