package activity

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

func TestTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"503", &APIError{Status: 503}, true},
		{"502 html", &APIError{Status: 502, Message: "<html>"}, true},
		{"408", &APIError{Status: 408}, true},
		{"429", &APIError{Status: 429}, true},
		{"403 AF429 throttling", &APIError{Status: 403, Code: "AF429"}, true},
		{"403 other", &APIError{Status: 403, Code: "AF10001"}, false},
		{"400 AF50005", &APIError{Status: 400, Code: "AF50005"}, true},
		{"400 AF20031 stale page: List starts the window over instead", &APIError{Status: 400, Code: "AF20031"}, false},
		{"400 AF20055 window", &APIError{Status: 400, Code: "AF20055"}, false},
		{"400 AF20051 expired", &APIError{Status: 400, Code: "AF20051"}, false},
		{"dropped connection", &transportError{io.ErrUnexpectedEOF}, true},
		{"cancelled", context.Canceled, false},
		{"other", errors.New("x"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := transient(tt.err); got != tt.want {
				t.Errorf("transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestParseErrorBody(t *testing.T) {
	tests := []struct{ name, body, code, msg string }{
		{"json", `{"error":{"code":"AF20022","message":"No subscription found"}}`, "AF20022", "No subscription found"},
		{"html gateway page", "<html>\n<body><h1>502 Bad Gateway</h1></body>\n</html>", "", "<html> <body><h1>502 Bad Gateway</h1></body> </html>"},
		{"empty", "", "", ""},
		{"json without error", `{"foo":1}`, "", `{"foo":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := parseErrorBody([]byte(tt.body))
			if code != tt.code || msg != tt.msg {
				t.Errorf("got (%q, %q), want (%q, %q)", code, msg, tt.code, tt.msg)
			}
		})
	}
}

func TestPacerSpacesRequests(t *testing.T) {
	p := newPacer(6000, nil) // one per 10 ms
	ctx := context.Background()
	start := time.Now()
	for range 11 {
		if err := p.wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// 11 requests need at least 10 intervals; an upper bound would be a timing assertion.
	if elapsed := time.Since(start); elapsed < 100*time.Millisecond {
		t.Errorf("11 paced requests took %v, want at least 100ms", elapsed)
	}
	var nilPacer *pacer
	if err := nilPacer.wait(ctx); err != nil {
		t.Errorf("unpaced wait: %v", err)
	}
}

// fakeClock is a clock a test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time                  { return c.t }
func (c *fakeClock) add(d time.Duration)             { c.t = c.t.Add(d) }
func (c *fakeClock) since(d time.Duration) time.Time { return c.t.Add(-d) }

func TestPacerSlowsDownAfterThrottlingAndRecovers(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	p := newPacer(1200, clk.now)
	check := func(step string, want float64) {
		t.Helper()
		if got := p.current(); got < want-0.5 || got > want+0.5 {
			t.Errorf("%s: pace %.1f/min, want %.0f", step, got, want)
		}
	}
	check("start", 1200)

	cut, rate := p.throttled(clk.since(time.Second))
	if !cut || rate != 600 {
		t.Fatalf("first throttled answer: cut %v to %.0f, want a cut to 600", cut, rate)
	}
	// Seven more workers' requests were in flight at the old pace: their throttled answers
	// say nothing new and must not cut the pace again.
	for range 7 {
		if cut, _ := p.throttled(clk.since(time.Second)); cut {
			t.Fatal("an answer to a request sent before the cut cut the pace again")
		}
	}
	check("after one round of throttling", 600)
	// The next request waits the new spacing (100 ms at 600/min), not the old (50 ms).
	if gap := p.next.Sub(clk.now()); gap < 100*time.Millisecond {
		t.Errorf("next slot %v after the cut, want at least 100ms", gap)
	}

	// A request sent after the cut and throttled again halves once more (after the second
	// of recovery since the cut: 600 + 5).
	clk.add(time.Second)
	if cut, rate := p.throttled(clk.now()); !cut || rate != 302.5 {
		t.Fatalf("throttled again after the cut: cut %v to %.1f, want 302.5", cut, rate)
	}
	// Recovery: a quarter of the configured pace (300/min) per minute without throttling.
	clk.add(30 * time.Second)
	check("30 s later", 302.5+150)
	clk.add(90 * time.Second)
	check("2 min later", 302.5+600)
	clk.add(time.Minute)
	check("3 min later: back to the configured pace", 1200)
	clk.add(time.Hour)
	check("an hour later: never above the configured pace", 1200)

	// However much throttling, the pace keeps a floor so that the run still moves.
	for range 20 {
		clk.add(time.Millisecond)
		p.throttled(clk.now())
	}
	check("after endless throttling", 1200*paceFloor)

	// A low configured pace keeps an absolute floor (30 a minute), or its own when lower.
	for _, tt := range []struct{ base, floor float64 }{{60, 30}, {10, 10}} {
		low := newPacer(int(tt.base), clk.now)
		for range 20 {
			clk.add(time.Millisecond)
			low.throttled(clk.now())
		}
		if got := low.current(); got < tt.floor-0.5 || got > tt.floor+0.5 {
			t.Errorf("configured %.0f/min, after endless throttling: %.1f/min, want %.0f", tt.base, got, tt.floor)
		}
	}

	var nilPacer *pacer
	if cut, _ := nilPacer.throttled(clk.now()); cut || nilPacer.current() != 0 {
		t.Error("an unpaced client has no pace to cut")
	}
}

func FuzzParseErrorBody(f *testing.F) {
	f.Add([]byte(`{"error":{"code":"AF429","message":"Too many requests"}}`))
	f.Add([]byte("<html>502</html>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, msg := parseErrorBody(body)
		if len([]rune(msg)) > 301 {
			t.Fatalf("message not bounded: %d runes", len([]rune(msg)))
		}
	})
}
