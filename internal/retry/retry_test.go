package retry

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in string
		want     time.Duration
	}{
		{"absent", "", 0},
		{"seconds", "7", 7 * time.Second},
		{"spaces", " 3 ", 3 * time.Second},
		{"zero", "0", 0},
		{"negative", "-5", 0},
		{"absurd is bounded", "999999999999", 24 * time.Hour},
		{"http date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"http date far ahead is bounded", now.Add(1000 * time.Hour).Format(http.TimeFormat), 24 * time.Hour},
		{"http date in the past", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"garbage", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseRetryAfter(tt.in, now); got != tt.want {
				t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestWait(t *testing.T) {
	p := Policy{Attempts: 5, Base: 100 * time.Millisecond, Cap: time.Second, RetryAfterCap: 2 * time.Second}
	tests := []struct {
		name    string
		attempt int
		after   time.Duration
		lo, hi  time.Duration
	}{
		{"first", 1, 0, 0, 100 * time.Millisecond},
		{"third", 3, 0, 0, 400 * time.Millisecond},
		{"capped", 10, 0, 0, time.Second},
		{"far beyond", 200, 0, 0, time.Second},
		{"retry-after honoured", 1, 700 * time.Millisecond, 700 * time.Millisecond, 700 * time.Millisecond},
		{"retry-after capped", 1, time.Hour, 2 * time.Second, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var spread bool
			first := p.Wait(tt.attempt, tt.after)
			for range 200 {
				d := p.Wait(tt.attempt, tt.after)
				if d < tt.lo || d > tt.hi {
					t.Fatalf("wait %v outside [%v, %v]", d, tt.lo, tt.hi)
				}
				spread = spread || d != first
			}
			if tt.after == 0 && !spread {
				t.Error("no jitter: concurrent workers would retry in lockstep")
			}
		})
	}
}

func TestOverBudget(t *testing.T) {
	p := Policy{Budget: time.Minute}
	if p.OverBudget(30*time.Second, 20*time.Second) || !p.OverBudget(50*time.Second, 20*time.Second) {
		t.Error("budget of a minute misjudged")
	}
	if (Policy{}).OverBudget(time.Hour, time.Hour) {
		t.Error("a zero budget must mean no budget")
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "1", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "99999999999999999999"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := ParseRetryAfter(s, now); d < 0 || d > 24*time.Hour {
			t.Fatalf("ParseRetryAfter(%q) = %v", s, d)
		}
	})
}

func TestDo(t *testing.T) {
	p := Policy{Attempts: 4, Base: time.Millisecond, Cap: time.Millisecond, RetryAfterCap: 10 * time.Millisecond}
	fail := errors.New("503")
	tests := []struct {
		name      string
		policy    Policy
		verdicts  []Verdict // of the tries in turn; the try after the last succeeds
		after     time.Duration
		wantTries int
		wantErr   error
		gaveUp    bool
		overBudet bool
	}{
		{name: "first try succeeds", policy: p, wantTries: 1},
		{name: "retried to success", policy: p, verdicts: []Verdict{Again, Again}, wantTries: 3},
		{name: "failure no try can fix", policy: p, verdicts: []Verdict{Again, Done}, wantTries: 2, wantErr: fail},
		{name: "tries run out", policy: p, verdicts: []Verdict{Again, Again, Again, Again, Again}, wantTries: 4, wantErr: fail, gaveUp: true},
		{name: "renewal is one free try at once", policy: p, verdicts: []Verdict{AgainNow, Again, Again}, wantTries: 4},
		{name: "a second renewal is an ordinary retry", policy: p, verdicts: []Verdict{AgainNow, AgainNow, Again, Again, Again}, wantTries: 4, wantErr: fail, gaveUp: true},
		{name: "budget spent", policy: Policy{Attempts: 100, RetryAfterCap: 10 * time.Millisecond, Budget: 25 * time.Millisecond},
			verdicts: []Verdict{Again, Again, Again, Again}, after: time.Second, wantTries: 3, wantErr: fail, gaveUp: true, overBudet: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tries, retries := 0, 0
			err := tt.policy.Do(context.Background(), func(attempt int) (Verdict, time.Duration, error) {
				tries++
				if attempt != tries {
					t.Errorf("attempt %d on try %d", attempt, tries)
				}
				if tries > len(tt.verdicts) {
					return Done, 0, nil
				}
				return tt.verdicts[tries-1], tt.after, fail
			}, func(int, time.Duration, error) { retries++ })
			if tries != tt.wantTries {
				t.Errorf("%d tries, want %d", tries, tt.wantTries)
			}
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			var g *GaveUpError
			if errors.As(err, &g) != tt.gaveUp || (g != nil && (g.OverBudget != tt.overBudet || g.Tries != tt.wantTries)) {
				t.Errorf("err = %#v, want gave up %v, over budget %v", err, tt.gaveUp, tt.overBudet)
			}
			if g != nil && g.OverBudget && g.Waited > tt.policy.Budget {
				t.Errorf("waited %v, over the budget of %v", g.Waited, tt.policy.Budget)
			}
			if retries > tries {
				t.Errorf("%d retries heard for %d tries", retries, tries)
			}
		})
	}
}

func TestDoWaitEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := Policy{Attempts: 5, Base: time.Hour, Cap: time.Hour}
	start := time.Now()
	err := p.Do(ctx, func(int) (Verdict, time.Duration, error) { return Again, 0, errors.New("503") },
		func(int, time.Duration, error) { cancel() })
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
}
