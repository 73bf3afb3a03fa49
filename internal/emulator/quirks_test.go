package emulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestLiveQuirks(t *testing.T) {
	s, clk := start(t, Config{LiveQuirks: true, PageSize: 1})
	now := clk.Now()
	s.Generate("Audit.SharePoint", now.Add(-3*time.Hour), now, time.Hour, 1)
	tok := token(t, s)

	resp, b := api(t, s, http.MethodGet, tok, contentQuery("Audit.SharePoint", now.Add(-24*time.Hour), now), false)
	if resp.StatusCode != http.StatusBadRequest || afCode(t, b) != "AF20055" {
		t.Errorf("exactly 24 h: HTTP %d %s, want 400 AF20055", resp.StatusCode, b)
	}

	resp, b = api(t, s, http.MethodGet, tok, contentQuery("Audit.SharePoint", now.Add(-23*time.Hour), now), false)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("23 h: HTTP %d %s", resp.StatusCode, b)
	}
	pages := 1
	for {
		var entries []contentJSON
		if err := json.Unmarshal(b, &entries); err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.ContentType != "Audit.Sharepoint" {
				t.Errorf("listed contentType %q, want the live casing Audit.Sharepoint", e.ContentType)
			}
			created, _ := time.Parse(time.RFC3339, e.ContentCreated)
			expires, _ := time.Parse(time.RFC3339, e.ContentExpiration)
			if expires.Sub(created) != 14*24*time.Hour {
				t.Errorf("listed expiration %s after creation, want 14 days", expires.Sub(created))
			}
		}
		next := resp.Header.Get("NextPageUri") // sent as "nextpageuri"; Go's client canonicalises names
		if next == "" {
			break
		}
		u, err := url.Parse(next)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u.Path, "/api/v1/") || strings.Contains(u.RawQuery, "PublisherIdentifier") ||
			!strings.Contains(u.RawQuery, "contenttype=") || !strings.Contains(u.RawQuery, "nextpage=") {
			t.Errorf("next page %s: want /api/v1/, lower-case names, no PublisherIdentifier", next)
		}
		// Without PublisherIdentifier the emulator stays strict; a client adds it.
		if r, _ := api(t, s, http.MethodGet, tok, next, true); r.StatusCode != http.StatusBadRequest {
			t.Errorf("next page without PublisherIdentifier: HTTP %d, want 400", r.StatusCode)
		}
		resp, b = api(t, s, http.MethodGet, tok, next, false)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("next page: HTTP %d %s", resp.StatusCode, b)
		}
		pages++
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3 (one blob each)", pages)
	}

	s.SetFaults(Faults{Throttle429: 1})
	resp, _ = api(t, s, http.MethodGet, tok, "subscriptions/list", false)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "" {
		t.Errorf("throttled: HTTP %d Retry-After %q, want 429 without Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestMaxWindow(t *testing.T) {
	s, clk := start(t, Config{MaxWindow: 2 * time.Hour})
	now := clk.Now()
	tok := token(t, s)
	for _, tt := range []struct {
		length time.Duration
		want   int
	}{{2 * time.Hour, http.StatusOK}, {2*time.Hour + time.Second, http.StatusBadRequest}} {
		resp, b := api(t, s, http.MethodGet, tok, contentQuery("Audit.General", now.Add(-tt.length), now), false)
		if resp.StatusCode != tt.want {
			t.Errorf("%v window: HTTP %d %s, want %d", tt.length, resp.StatusCode, b, tt.want)
		}
	}
}
