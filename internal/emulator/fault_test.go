package emulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// statuses fires n listing requests and returns the server-side statuses of
// the API requests (0 = dropped). The client may retry a dropped idempotent
// request on its own, so the server log is the truth.
func statuses(t *testing.T, s *Server, tok string, n int) []int {
	t.Helper()
	c := s.Client()
	for range n {
		req, _ := http.NewRequest("GET", s.APIRoot()+"/subscriptions/list?PublisherIdentifier="+DefaultTenantID, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	var out []int
	for _, r := range s.Requests() {
		if r.Kind == "list" {
			out = append(out, r.Status)
		}
	}
	return out
}

func TestFaultFractions(t *testing.T) {
	tests := []struct {
		name   string
		faults Faults
		status int
	}{
		{"server error", Faults{ServerError: 0.25}, 503},
		{"html error", Faults{HTMLError: 0.25}, 502},
		{"throttle 429", Faults{Throttle429: 0.25}, 429},
		{"throttle 403", Faults{Throttle403: 0.25}, 403},
		{"drop", Faults{Drop: 0.25}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := start(t, Config{Seed: 99})
			tok := token(t, s)
			s.SetFaults(tt.faults)
			got := statuses(t, s, tok, 400)
			hit := 0
			for _, st := range got {
				switch st {
				case tt.status:
					hit++
				case 200:
				default:
					t.Fatalf("unexpected status %d", st)
				}
			}
			if frac := float64(hit) / float64(len(got)); frac < 0.18 || frac > 0.32 {
				t.Errorf("fault fraction %.2f (%d of %d), want about 0.25", frac, hit, len(got))
			}
			st := s.Stats()
			if st.Faults+st.Throttled != hit {
				t.Errorf("stats %+v, want %d faults+throttled", st, hit)
			}
		})
	}
}

func TestFaultsDeterministic(t *testing.T) {
	run := func() []int {
		s, _ := start(t, Config{Seed: 5})
		tok := token(t, s)
		s.SetFaults(Faults{ServerError: 0.2, Throttle429: 0.2, HTMLError: 0.2})
		return statuses(t, s, tok, 40)
	}
	a, b := run(), run()
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
}

func TestFaultAnswers(t *testing.T) {
	s, _ := start(t, Config{})
	tok := token(t, s)
	tests := []struct {
		name   string
		faults Faults
		status int
		check  func(t *testing.T, resp *http.Response, body []byte)
	}{
		{"503 is AF50000 JSON", Faults{ServerError: 1}, 503, func(t *testing.T, _ *http.Response, b []byte) {
			if afCode(t, b) != "AF50000" {
				t.Errorf("code %s", afCode(t, b))
			}
		}},
		{"502 is HTML", Faults{HTMLError: 1}, 502, func(t *testing.T, r *http.Response, b []byte) {
			if r.Header.Get("Content-Type") != "text/html" || !strings.HasPrefix(string(b), "<!DOCTYPE html>") {
				t.Errorf("type %q body %.40s", r.Header.Get("Content-Type"), b)
			}
		}},
		{"429 has Retry-After", Faults{Throttle429: 1}, 429, func(t *testing.T, r *http.Response, _ []byte) {
			if r.Header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
			}
		}},
		{"403 is AF429", Faults{Throttle403: 1}, 403, func(t *testing.T, _ *http.Response, b []byte) {
			if afCode(t, b) != "AF429" || !strings.Contains(string(b), "Too many requests. Method=ListSubscriptions, PublisherId="+DefaultTenantID) {
				t.Errorf("body %s", b)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.SetFaults(tt.faults)
			resp, body := api(t, s, "GET", tok, "subscriptions/list", false)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			tt.check(t, resp, body)
		})
	}
}

func TestFaultDropBlobMidBody(t *testing.T) {
	s, _ := start(t, Config{})
	tok := token(t, s)
	b := s.AddBlob(BlobSpec{ContentType: "Audit.Exchange", Created: testNow.Add(-time.Hour), Records: 40, RecordBytes: 3000})
	s.SetFaults(Faults{Drop: 1})
	req, _ := http.NewRequest("GET", b.ContentURI+"?PublisherIdentifier="+DefaultTenantID, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("want headers then a cut body, got %v", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read error %v, want unexpected EOF", err)
	}
	if resp.StatusCode != 200 || len(got) < 30000 {
		t.Errorf("status %d, %d bytes before the cut", resp.StatusCode, len(got))
	}
	if n := s.Stats().BlobDownloads; n != 0 {
		t.Errorf("BlobDownloads = %d, want 0 for a cut body", n)
	}
}

func TestQuotaPerMinute(t *testing.T) {
	s, clk := start(t, Config{})
	tok := token(t, s)
	s.SetFaults(Faults{QuotaPerMinute: 3})
	want := []int{200, 200, 200, 403, 403}
	for i, w := range want {
		resp, body := api(t, s, "GET", tok, "subscriptions/list", false)
		if resp.StatusCode != w {
			t.Fatalf("request %d: %d, want %d", i, resp.StatusCode, w)
		}
		if w == 403 && afCode(t, body) != "AF429" {
			t.Errorf("request %d: %s", i, body)
		}
	}
	clk.Add(time.Minute)
	if resp, _ := api(t, s, "GET", tok, "subscriptions/list", false); resp.StatusCode != 200 {
		t.Errorf("after a minute: %d", resp.StatusCode)
	}
	if n := s.Stats().Throttled; n != 2 {
		t.Errorf("Throttled = %d, want 2", n)
	}
}

func TestTokenFault(t *testing.T) {
	s, _ := start(t, Config{})
	s.SetFaults(Faults{TokenError: 1})
	cred, _ := creds(t)
	a := assertion(t, assertionOpts{alg: "PS256", key: cred.Key, cert: cred.Cert, claims: goodClaims(s, s.now())})
	status, body := postToken(t, s, tokenForm(s, a))
	if status != 503 || aadCode(body) != 90033 {
		t.Errorf("got %d %v, want 503 AADSTS90033", status, body)
	}
}

func TestLatencyRespectsCancel(t *testing.T) {
	s, _ := start(t, Config{})
	s.SetFaults(Faults{Latency: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/"+DefaultTenantID+"/v2.0/.well-known/openid-configuration", nil)
	began := time.Now()
	if resp, err := s.Client().Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("want a timeout, got %d %q after %v", resp.StatusCode, b, time.Since(began))
	}
	s.Close() // must not wait for the 10 s sleep
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
}
