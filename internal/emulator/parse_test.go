package emulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func FuzzPageToken(f *testing.F) {
	e := New(Config{Now: func() time.Time { return testNow }})
	b := e.AddBlob(BlobSpec{ContentType: "Audit.Exchange", Created: testNow})
	st, en := testNow.Add(-time.Hour), testNow
	f.Add(e.pageToken("Audit.Exchange", st, en, e.byID[b.ContentID]))
	f.Add("2015101900R022885001761")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		created, seq, ok := e.readPageToken(tok, "Audit.Exchange", st, en)
		if ok && e.pageToken("Audit.Exchange", st, en, &blobEntry{created: created, seq: seq}) != tok {
			t.Errorf("accepted a token the emulator did not issue: %q", tok)
		}
	})
}

func FuzzParseID(f *testing.F) {
	e := New(Config{Seed: 11})
	f.Add(e.genID(1, 2))
	f.Add("80c76bd2-9d81-4c57-a97a-accfc3443dca")
	f.Add("not-a-guid")
	f.Fuzz(func(t *testing.T, id string) {
		if seq, idx, ok := e.parseID(id); ok && e.genID(seq, idx) != id && e.genID(seq, idx) != toLower(id) {
			t.Errorf("parseID(%q) = %d,%d which makes another id", id, seq, idx)
		}
	})
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func TestParseAPITime(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"documented", "2026-11-26T08:00:00", true},
		{"with Z", "2026-11-26T08:00:00Z", true},
		{"with fraction", "2026-11-26T08:00:00.1234567", true},
		{"with fraction and Z", "2026-11-26T08:00:00.123Z", true},
		{"offset", "2026-11-26T08:00:00+01:00", false},
		{"date only", "2026-11-26", false},
		{"space separator", "2026-11-26 08:00:00", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAPITime(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && (got.Location() != time.UTC || got.Truncate(time.Second) != time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)) {
				t.Errorf("got %v", got)
			}
		})
	}
}

// TestHandlerWithHTTPTest serves the bare handler the httptest way.
func TestHandlerWithHTTPTest(t *testing.T) {
	e := New(Config{Now: func() time.Time { return testNow }})
	srv := httptest.NewTLSServer(e)
	defer srv.Close()
	e.SetURL(srv.URL)
	b := e.AddBlob(BlobSpec{ContentType: "DLP.All", Created: testNow})
	if want := srv.URL + "/api/v1.0/" + DefaultTenantID + "/activity/feed/audit/" + b.ContentID; b.ContentURI != want {
		t.Errorf("ContentURI %s, want %s", b.ContentURI, want)
	}
	resp, err := srv.Client().Get(srv.URL + "/" + DefaultTenantDomain + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery %d %v", resp.StatusCode, err)
	}
	if doc["issuer"] != srv.URL+"/"+DefaultTenantID+"/v2.0" {
		t.Errorf("issuer %v", doc["issuer"])
	}
	if got := e.Requests(); len(got) != 1 || got[0].Kind != "discovery" || got[0].Status != 200 {
		t.Errorf("requests %+v", got)
	}
}
