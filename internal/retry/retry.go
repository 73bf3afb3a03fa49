// Package retry is the one retry loop of o365logfetch (API requests, token requests) and its
// rules: exponential backoff with full jitter so concurrent workers do not retry in lockstep, a
// server's Retry-After honoured but capped, a bound on tries and on the total wait, and waits
// that end with the context.
package retry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Policy bounds a retry loop.
type Policy struct {
	Attempts      int           // tries in all, the first included
	Base          time.Duration // ceiling of the first backoff; doubles each try
	Cap           time.Duration // longest single backoff
	RetryAfterCap time.Duration // longest wait a server's Retry-After may impose
	Budget        time.Duration // total wait one operation may spend between tries (0: unbounded; Attempts still bounds it)
}

// Wait is the pause after failed try n (counting from 1): the server's Retry-After when it
// sent one, capped; else a uniformly random wait below an exponentially growing ceiling.
func (p Policy) Wait(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, p.RetryAfterCap)
	}
	ceiling := p.Base << min(max(n-1, 0), 20)
	if ceiling <= 0 || ceiling > p.Cap {
		ceiling = p.Cap
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// OverBudget reports whether waiting d more, after waited, exceeds the policy's budget.
func (p Policy) OverBudget(waited, d time.Duration) bool {
	return p.Budget > 0 && waited+d > p.Budget
}

// Verdict is what a try says of itself.
type Verdict int

const (
	Done     Verdict = iota // succeeded, or failed in a way another try cannot fix
	Again                   // failed in a way worth another try, after a backoff
	AgainNow                // worth one more try at once (a renewed token); once per loop, else Again
)

// Try is one attempt (counting from 1). retryAfter is the wait the server asked for, if any.
type Try func(attempt int) (v Verdict, retryAfter time.Duration, err error)

// GaveUpError is the last error of a loop that ran out of tries or of its wait budget.
type GaveUpError struct {
	Err        error
	Tries      int
	Waited     time.Duration // spent waiting between the tries
	OverBudget bool          // the next wait would have passed the policy's Budget
}

func (e *GaveUpError) Error() string {
	return fmt.Sprintf("%v (gave up after %d tries in %s)", e.Err, e.Tries, e.Waited.Round(time.Second))
}

func (e *GaveUpError) Unwrap() error { return e.Err }

// Do runs try until it is Done, or p.Attempts tries were made, or the next wait would pass
// p.Budget (then the error is a *GaveUpError), or ctx ends during a wait (then it is ctx's
// error). onRetry, when set, hears of each wait before it starts.
func (p Policy) Do(ctx context.Context, try Try, onRetry func(attempt int, wait time.Duration, err error)) error {
	var waited time.Duration
	now := false
	for attempt := 1; ; attempt++ {
		v, retryAfter, err := try(attempt)
		if v == Done || err == nil {
			return err
		}
		if v == AgainNow && !now {
			now = true
			continue
		}
		if attempt >= p.Attempts {
			return &GaveUpError{Err: err, Tries: attempt, Waited: waited}
		}
		d := p.Wait(attempt, retryAfter)
		if p.OverBudget(waited, d) {
			return &GaveUpError{Err: err, Tries: attempt, Waited: waited, OverBudget: true}
		}
		waited += d
		if onRetry != nil {
			onRetry(attempt, d, err)
		}
		if err := Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// Sleep waits d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
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

// maxRetryAfter bounds what a Retry-After header can ask for before a policy's own cap.
const maxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date. Zero when absent,
// unreadable or in the past; never more than a day.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}
