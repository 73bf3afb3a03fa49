package window

import (
	"strings"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// withLocal runs the test with time.Local set to a zone that has DST, so any
// accidental use of local time shows up as a shifted result.
func withLocal(t *testing.T) {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		loc = time.FixedZone("UTC-5", -5*3600)
	}
	old := time.Local
	time.Local = loc
	t.Cleanup(func() { time.Local = old })
}

func TestWindowString(t *testing.T) {
	w := Window{Start: utc("2026-11-25T09:00:00Z"), End: utc("2026-11-26T09:00:00Z")}
	if got, want := w.String(), "2026-11-25T09:00:00Z..2026-11-26T09:00:00Z"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := w.Duration(); got != Limit {
		t.Errorf("Duration() = %v, want %v", got, Limit)
	}
}

func TestSplit(t *testing.T) {
	withLocal(t)
	ny := time.FixedZone("EST", -5*3600)
	tests := []struct {
		name       string
		start, end time.Time
		want       []string
	}{
		{
			name:  "empty when end equals start",
			start: utc("2026-11-25T09:00:00Z"),
			end:   utc("2026-11-25T09:00:00Z"),
		},
		{
			name:  "empty when end before start",
			start: utc("2026-11-25T09:00:00Z"),
			end:   utc("2026-11-25T08:00:00Z"),
		},
		{
			name:  "one second",
			start: utc("2026-11-25T09:00:00Z"),
			end:   utc("2026-11-25T09:00:01Z"),
			want:  []string{"2026-11-25T09:00:00Z..2026-11-25T09:00:01Z"},
		},
		{
			name:  "exactly 23 h is one window",
			start: utc("2026-11-25T09:00:00Z"),
			end:   utc("2026-11-26T08:00:00Z"),
			want:  []string{"2026-11-25T09:00:00Z..2026-11-26T08:00:00Z"},
		},
		{
			name:  "exactly 24 h is never asked for: two windows",
			start: utc("2026-11-25T09:00:00Z"),
			end:   utc("2026-11-26T09:00:00Z"),
			want: []string{
				"2026-11-25T09:00:00Z..2026-11-26T08:00:00Z",
				"2026-11-26T08:00:00Z..2026-11-26T09:00:00Z",
			},
		},
		{
			name:  "23 h and one second is two windows",
			start: utc("2026-11-25T09:00:00Z"),
			end:   utc("2026-11-26T08:00:01Z"),
			want: []string{
				"2026-11-25T09:00:00Z..2026-11-26T08:00:00Z",
				"2026-11-26T08:00:00Z..2026-11-26T08:00:01Z",
			},
		},
		{
			name:  "70 h is four windows",
			start: utc("2026-11-25T00:00:00Z"),
			end:   utc("2026-11-27T22:00:00Z"),
			want: []string{
				"2026-11-25T00:00:00Z..2026-11-25T23:00:00Z",
				"2026-11-25T23:00:00Z..2026-11-26T22:00:00Z",
				"2026-11-26T22:00:00Z..2026-11-27T21:00:00Z",
				"2026-11-27T21:00:00Z..2026-11-27T22:00:00Z",
			},
		},
		{
			name:  "offsets converted to UTC",
			start: time.Date(2026, 11, 25, 4, 0, 0, 0, ny),
			end:   time.Date(2026, 11, 25, 6, 0, 0, 0, ny),
			want:  []string{"2026-11-25T09:00:00Z..2026-11-25T11:00:00Z"},
		},
		{
			name:  "local times across a DST change stay 23 h in UTC",
			start: time.Date(2026, 3, 7, 12, 0, 0, 0, time.Local),
			end:   time.Date(2026, 3, 9, 12, 0, 0, 0, time.Local),
			want:  nil, // computed below from UTC instants
		},
		{
			name:  "fractions truncated",
			start: utc("2026-11-25T09:00:00.900Z"),
			end:   utc("2026-11-25T10:00:00.100Z"),
			want:  []string{"2026-11-25T09:00:00Z..2026-11-25T10:00:00Z"},
		},
		{
			name:  "sub-second range truncates to empty",
			start: utc("2026-11-25T09:00:00.100Z"),
			end:   utc("2026-11-25T09:00:00.900Z"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if strings.Contains(tt.name, "DST") {
				s, e := tt.start.UTC(), tt.end.UTC()
				for ; s.Before(e); s = s.Add(MaxSpan) {
					we := s.Add(MaxSpan)
					if we.After(e) {
						we = e
					}
					want = append(want, Window{s, we}.String())
				}
			}
			got := Split(tt.start, tt.end)
			if len(got) != len(want) {
				t.Fatalf("Split = %v, want %v", got, want)
			}
			for i, w := range got {
				if w.String() != want[i] {
					t.Errorf("window %d = %s, want %s", i, w, want[i])
				}
				if w.Start.Location() != time.UTC || w.End.Location() != time.UTC {
					t.Errorf("window %d not UTC: %v", i, w)
				}
			}
		})
	}
}

func TestHalve(t *testing.T) {
	start := utc("2026-11-25T00:00:00Z")
	tests := []struct {
		name   string
		length time.Duration
		mid    string // "" = not split
	}{
		{"23 h", MaxSpan, "2026-11-25T11:30:00Z"},
		{"odd seconds: the middle is a whole second", MinSpan + 3*time.Second, "2026-11-25T00:07:31Z"},
		{"just over the minimum", MinSpan + 2*time.Second, "2026-11-25T00:07:31Z"},
		{"the minimum is not split", MinSpan, ""},
		{"shorter is not split", time.Minute, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := Window{Start: start, End: start.Add(tt.length)}
			a, b, ok := Halve(w)
			if ok != (tt.mid != "") {
				t.Fatalf("Halve(%s) ok = %v", w, ok)
			}
			if !ok {
				return
			}
			if a.Start != w.Start || b.End != w.End || a.End != b.Start || a.End.Format(time.RFC3339) != tt.mid {
				t.Errorf("Halve(%s) = %s, %s; want the middle at %s", w, a, b, tt.mid)
			}
		})
	}
	// Halving down from 23 h always ends: every piece reaches MinSpan or less in a few steps.
	w, steps := Window{Start: start, End: start.Add(MaxSpan)}, 0
	for {
		a, _, ok := Halve(w)
		if !ok {
			break
		}
		w, steps = a, steps+1
	}
	if steps != 7 || w.Duration() > MinSpan || w.Duration() < MinSpan/2 {
		t.Errorf("23 h halved %d times down to %v; want 7 steps ending in (%v, %v]", steps, w.Duration(), MinSpan/2, MinSpan)
	}
}

func TestEarliestAndClamp(t *testing.T) {
	withLocal(t)
	now := utc("2026-12-03T10:00:00.750Z")
	earliest := utc("2026-11-26T10:05:00Z")
	if got := Earliest(now); !got.Equal(earliest) || got.Location() != time.UTC {
		t.Fatalf("Earliest(%v) = %v, want %v UTC", now, got, earliest)
	}
	if got := Earliest(now.In(time.Local)); !got.Equal(earliest) || got.Location() != time.UTC {
		t.Fatalf("Earliest(local) = %v, want %v UTC", got, earliest)
	}

	tests := []struct {
		name        string
		start       time.Time
		wantStart   time.Time
		wantLost    Window
		wantClamped bool
	}{
		{
			name:      "recent start unchanged",
			start:     utc("2026-12-03T08:00:00Z"),
			wantStart: utc("2026-12-03T08:00:00Z"),
		},
		{
			name:      "exactly at the edge unchanged",
			start:     earliest,
			wantStart: earliest,
		},
		{
			name:      "fraction inside the edge truncated, not clamped",
			start:     earliest.Add(500 * time.Millisecond),
			wantStart: earliest,
		},
		{
			name:        "one second before the edge clamped",
			start:       earliest.Add(-time.Second),
			wantStart:   earliest,
			wantLost:    Window{earliest.Add(-time.Second), earliest},
			wantClamped: true,
		},
		{
			name:        "ten days old clamped",
			start:       utc("2026-11-23T10:00:00Z"),
			wantStart:   earliest,
			wantLost:    Window{utc("2026-11-23T10:00:00Z"), earliest},
			wantClamped: true,
		},
		{
			name:        "local start converted",
			start:       utc("2026-11-23T10:00:00Z").In(time.Local),
			wantStart:   earliest,
			wantLost:    Window{utc("2026-11-23T10:00:00Z"), earliest},
			wantClamped: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, lost, ok := Clamp(tt.start, now)
			if !got.Equal(tt.wantStart) || got.Location() != time.UTC {
				t.Errorf("start = %v, want %v UTC", got, tt.wantStart)
			}
			if ok != tt.wantClamped {
				t.Errorf("ok = %v, want %v", ok, tt.wantClamped)
			}
			if !lost.Start.Equal(tt.wantLost.Start) || !lost.End.Equal(tt.wantLost.End) {
				t.Errorf("lost = %v, want %v", lost, tt.wantLost)
			}
			if ok && (lost.Start.Location() != time.UTC || lost.End.Location() != time.UTC) {
				t.Errorf("lost not UTC: %v", lost)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	withLocal(t)
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"utc", utc("2026-11-25T09:00:00Z"), "2026-11-25T09:00:00"},
		{"offset converted", time.Date(2026, 11, 25, 4, 0, 0, 0, time.FixedZone("", -5*3600)), "2026-11-25T09:00:00"},
		{"local converted", utc("2026-07-01T12:00:00Z").In(time.Local), "2026-07-01T12:00:00"},
		{"fraction dropped", utc("2026-11-25T09:00:00.999Z"), "2026-11-25T09:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Format(tt.in); got != tt.want {
				t.Errorf("Format = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	withLocal(t)
	tests := []struct {
		name    string
		in      string
		want    string // RFC 3339 UTC; empty means an error is expected
		wantErr string // substring of the error
	}{
		{name: "rfc3339 Z", in: "2026-11-25T09:00:00Z", want: "2026-11-25T09:00:00Z"},
		{name: "rfc3339 offset", in: "2026-11-25T10:30:00+01:30", want: "2026-11-25T09:00:00Z"},
		{name: "rfc3339 negative offset", in: "2026-11-25T04:00:00-05:00", want: "2026-11-25T09:00:00Z"},
		{name: "rfc3339 fraction truncated", in: "2026-11-25T09:00:00.999999Z", want: "2026-11-25T09:00:00Z"},
		{name: "api form is UTC", in: "2026-11-25T09:00:00", want: "2026-11-25T09:00:00Z"},
		{name: "api form fraction truncated", in: "2026-11-25T09:00:00.5", want: "2026-11-25T09:00:00Z"},
		{name: "date is UTC midnight", in: "2026-03-08", want: "2026-03-08T00:00:00Z"},
		{name: "epoch seconds", in: "1732600000", want: "2024-11-26T05:46:40Z"},
		{name: "epoch at 2000", in: "946684800", want: "2000-01-01T00:00:00Z"},
		{name: "month 13", in: "2026-13-01", wantErr: "month out of range"},
		{name: "day 32", in: "2026-01-32", wantErr: "day out of range"},
		{name: "word", in: "yesterday", wantErr: `"yesterday"`},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "exponent", in: "1e9", wantErr: "epoch seconds"},
		{name: "leading space", in: " 2026-01-01", wantErr: `" 2026-01-01"`},
		{name: "trailing space", in: "2026-01-01 ", wantErr: "want RFC 3339"},
		{name: "negative epoch", in: "-1732600000", wantErr: "want RFC 3339"},
		{name: "plus-signed epoch", in: "+1732600000", wantErr: "want RFC 3339"},
		{name: "compact date taken for epoch", in: "20260101", wantErr: "before 2000"},
		{name: "epoch overflow", in: "99999999999999999999", wantErr: "out of range"},
		{name: "epoch beyond year 9999", in: "253402300800", wantErr: "out of range"},
		{name: "space instead of T", in: "2026-11-25 09:00:00", wantErr: "want RFC 3339"},
		{name: "hour 24", in: "2026-11-25T24:00:00Z", wantErr: "hour out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Parse(%q) = %v, want error containing %q", tt.in, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Parse(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "epoch seconds") && !strings.Contains(err.Error(), "out of range") {
					t.Errorf("Parse(%q) error = %q does not name the accepted forms", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got.Location() != time.UTC {
				t.Errorf("Parse(%q) location = %v, want UTC", tt.in, got.Location())
			}
			if s := got.Format(time.RFC3339Nano); s != tt.want {
				t.Errorf("Parse(%q) = %s, want %s", tt.in, s, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"2026-11-25T09:00:00Z", "2026-11-25T10:30:00+01:30", "2026-11-25T09:00:00",
		"2026-11-25T09:00:00.5", "2026-03-08", "1732600000", "2026-13-01", "yesterday",
		"", "1e9", " 2026-01-01", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		if err != nil {
			return
		}
		if got.Location() != time.UTC || got.Nanosecond() != 0 {
			t.Fatalf("Parse(%q) = %v: not UTC whole seconds", s, got)
		}
		again, err := Parse(Format(got))
		if err != nil {
			t.Fatalf("Parse(Format(%v)) = %q: %v", got, Format(got), err)
		}
		if !again.Equal(got) {
			t.Fatalf("Parse(%q) = %v, round trip gives %v", s, got, again)
		}
	})
}

func FuzzSplit(f *testing.F) {
	f.Add(int64(1764061200), int64(0), int64(49*3600), int64(0))
	f.Add(int64(1764061200), int64(999_999_999), int64(24*3600), int64(1))
	f.Add(int64(0), int64(0), int64(-5), int64(0))
	f.Fuzz(func(t *testing.T, startSec, startNsec, span, endNsec int64) {
		// Bound the span so a case stays small (at most about 400 windows).
		const maxSpan = 400 * 24 * 3600
		span %= maxSpan
		startSec %= 1 << 40
		start := time.Unix(startSec, startNsec%1e9)
		end := time.Unix(startSec+span, endNsec%1e9)
		ws := Split(start, end)

		s, e := start.UTC().Truncate(time.Second), end.UTC().Truncate(time.Second)
		if !e.After(s) {
			if len(ws) != 0 {
				t.Fatalf("Split(%v, %v) = %v, want empty", start, end, ws)
			}
			return
		}
		if len(ws) == 0 || !ws[0].Start.Equal(s) || !ws[len(ws)-1].End.Equal(e) {
			t.Fatalf("Split(%v, %v) = %v does not cover [%v, %v)", start, end, ws, s, e)
		}
		for i, w := range ws {
			if !w.End.After(w.Start) || w.Duration() > MaxSpan {
				t.Fatalf("window %d = %v: empty or longer than %v", i, w, MaxSpan)
			}
			if w.Start.Location() != time.UTC || w.Start.Nanosecond() != 0 || w.End.Nanosecond() != 0 {
				t.Fatalf("window %d = %v: not UTC whole seconds", i, w)
			}
			if i > 0 && !ws[i-1].End.Equal(w.Start) {
				t.Fatalf("windows %d and %d not contiguous: %v, %v", i-1, i, ws[i-1], w)
			}
			if i < len(ws)-1 && w.Duration() != MaxSpan {
				t.Fatalf("window %d = %v: only the last may be shorter than %v", i, w, MaxSpan)
			}
		}
	})
}
