// Package window does the time arithmetic of content listing: windows of at
// most 23 hours inside the 7-day retention of the Office 365 Management
// Activity API. It is pure: the caller passes the clock in, and every result
// is UTC with whole seconds, so the local time zone never matters.
package window

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

const (
	// Limit is the longest listing window the API documents (24 hours).
	Limit = 24 * time.Hour
	// MaxSpan is the longest window ever asked for: an hour short of Limit. The live
	// service has been seen refusing a window of exactly 24 hours with AF20055, and a
	// request that sits on a documented edge fails whenever the service reads the edge
	// more strictly than its documentation.
	MaxSpan = Limit - time.Hour
	// MinSpan is the shortest window a refused window is split down to (see Halve).
	// Below it a refusal is not about the window's length.
	MinSpan = 15 * time.Minute
	// Retention is how long content stays listable and fetchable after it
	// became available.
	Retention = 7 * 24 * time.Hour
	// Margin keeps windows a little inside Retention, so a request built at
	// the edge is not refused when it reaches the API moments later or when
	// the clocks disagree slightly.
	Margin = 5 * time.Minute
)

// apiLayout is the time form the API documents for startTime and endTime.
const apiLayout = "2006-01-02T15:04:05"

// Window is the half-open period [Start, End), UTC, whole seconds.
type Window struct {
	Start, End time.Time
}

// String renders w as "2026-11-25T09:00:00Z..2026-11-26T09:00:00Z".
func (w Window) String() string {
	return w.Start.UTC().Format(time.RFC3339) + ".." + w.End.UTC().Format(time.RFC3339)
}

// Duration is the length of w.
func (w Window) Duration() time.Duration {
	return w.End.Sub(w.Start)
}

// norm is the canonical form of every time this package hands out.
func norm(t time.Time) time.Time {
	return t.UTC().Truncate(time.Second)
}

// Split cuts [start, end) into contiguous windows of at most MaxSpan; empty
// when end <= start. Start and end are truncated to whole seconds and
// converted to UTC first.
func Split(start, end time.Time) []Window {
	start, end = norm(start), norm(end)
	if !end.After(start) {
		return nil
	}
	n := int(end.Sub(start) / MaxSpan)
	ws := make([]Window, 0, n+1)
	for s := start; s.Before(end); {
		e := s.Add(MaxSpan)
		if e.After(end) {
			e = end
		}
		ws = append(ws, Window{Start: s, End: e})
		s = e
	}
	return ws
}

// Halve splits w into two contiguous halves at a whole second. ok is false when w is
// not longer than MinSpan: a window that short is not split further.
func Halve(w Window) (first, second Window, ok bool) {
	if w.Duration() <= MinSpan {
		return Window{}, Window{}, false
	}
	mid := norm(w.Start.Add(w.Duration() / 2))
	return Window{Start: w.Start, End: mid}, Window{Start: mid, End: w.End}, true
}

// Earliest is the oldest start the API still accepts at now:
// now - Retention + Margin, whole seconds.
//
// Truncating now (rather than rounding up) keeps a start computed from the
// same clock reading from being reported as lost for a fraction of a second;
// Margin absorbs the difference.
func Earliest(now time.Time) time.Time {
	return norm(now).Add(-Retention + Margin)
}

// Clamp moves start forward to Earliest(now) when it is older. lost is the
// period that can no longer be fetched ([start, Earliest)) and ok is true when
// clamping happened. A zero start is clamped like any other, so callers that
// mean "never fetched" must decide the start before calling Clamp.
func Clamp(start, now time.Time) (clamped time.Time, lost Window, ok bool) {
	start = norm(start)
	earliest := Earliest(now)
	if !start.Before(earliest) {
		return start, Window{}, false
	}
	return earliest, Window{Start: start, End: earliest}, true
}

// Format renders t for the API: "2006-01-02T15:04:05" in UTC.
func Format(t time.Time) string {
	return t.UTC().Format(apiLayout)
}

// minEpoch is the smallest epoch-seconds value Parse accepts. A bare number
// below it is far more likely a mistyped date (20260101) than a moment before
// 2000, a time that predates the API anyway.
const minEpoch = 946684800 // 2000-01-01T00:00:00Z

var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	// maxTime is the last second Format can render with a four-digit year.
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

const forms = "want RFC 3339 (2026-11-25T09:00:00Z or with an offset), " +
	"2026-11-25T09:00:00 (UTC), 2026-11-25 (UTC midnight) or epoch seconds (1764061200)"

// Parse reads a --start or --end value: RFC 3339 with any offset (converted
// to UTC), "YYYY-MM-DDTHH:MM:SS" (UTC), "YYYY-MM-DD" (UTC midnight), or epoch
// seconds as the old tool wrote them (digits only). Fractions of a second are
// truncated. Anything else is an error naming the value and the accepted
// forms.
func Parse(s string) (time.Time, error) {
	t, err := parse(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w; %s", s, err, forms)
	}
	t = norm(t)
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, fmt.Errorf("time %q: out of range 0001-01-01..9999-12-31", s)
	}
	return t, nil
}

func parse(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty")
	}
	if digitsOnly(s) {
		return parseEpoch(s)
	}
	layout := time.RFC3339
	switch {
	case len(s) == len(time.DateOnly):
		layout = time.DateOnly
	case !hasZone(s):
		layout = apiLayout
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		var pe *time.ParseError
		if errors.As(err, &pe) && pe.Message != "" {
			// The time package's own reason, e.g. "month out of range".
			return time.Time{}, errors.New(strings.TrimPrefix(pe.Message, ": "))
		}
		return time.Time{}, errors.New("not a recognised time")
	}
	return t, nil
}

func parseEpoch(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxTime.Unix() {
		return time.Time{}, errors.New("epoch seconds out of range")
	}
	if n < minEpoch {
		return time.Time{}, errors.New("epoch seconds before 2000 (a date needs dashes: 2026-01-01)")
	}
	return time.Unix(n, 0).UTC(), nil
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// hasZone reports whether s carries a zone designator after its date part:
// "Z" or a numeric offset.
func hasZone(s string) bool {
	if len(s) <= len(time.DateOnly) {
		return false
	}
	return strings.ContainsAny(s[len(time.DateOnly):], "Zz+-")
}
