package activity

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry is the retry policy of every API request. The zero value is not usable: start from
// DefaultRetry.
type Retry struct {
	Attempts      int           // tries in all, the first included
	Base          time.Duration // first backoff; doubles each try
	Cap           time.Duration // longest single backoff
	RetryAfterCap time.Duration // longest wait a server's Retry-After may impose
	Budget        time.Duration // total time one request may spend waiting between tries
}

// DefaultRetry rides out a few minutes of throttling or a gateway outage, then gives up so the
// blob stays pending for the next run rather than the run hanging forever under cron.
var DefaultRetry = Retry{Attempts: 8, Base: time.Second, Cap: 60 * time.Second, RetryAfterCap: 120 * time.Second, Budget: 5 * time.Minute}

// backoff is the wait before try n+1 (n counts from 1): exponential with full jitter, so that
// concurrent workers do not retry in lockstep.
func (r Retry) backoff(n int) time.Duration {
	d := r.Base << min(n-1, 20)
	if d <= 0 || d > r.Cap {
		d = r.Cap
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// wait returns how long to wait after a transient failure, preferring the server's Retry-After.
func (r Retry) wait(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, r.RetryAfterCap)
	}
	return r.backoff(n)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date. Zero when absent or
// unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, 24*time.Hour)
		}
	}
	return 0
}

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
	case "AF50000", "AF50005", "AF50006", CodeStalePage:
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
