package emulator

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBlobAnswer(t *testing.T) {
	tests := []struct {
		name       string
		answer     Answer
		wantStatus int
		wantType   string
		check      func(t *testing.T, body []byte)
	}{
		{"HTML with status 200", Answer{ContentType: "text/html", Body: "<html>gateway</html>"}, 200, "text/html",
			func(t *testing.T, body []byte) {
				if string(body) != "<html>gateway</html>" {
					t.Errorf("body %q", body)
				}
			}},
		{"not an array, status 201", Answer{Status: http.StatusCreated, Header: map[string]string{"X-Test": "1"}, Body: `{"a":1}`}, http.StatusCreated, "application/json; charset=utf-8", nil},
		{"empty body", Answer{}, 200, "application/json; charset=utf-8",
			func(t *testing.T, body []byte) {
				if len(body) != 0 {
					t.Errorf("body %q, want empty", body)
				}
			}},
		{"huge body streamed", Answer{Body: "[", Filler: `{"Id":"x"},`, FillBytes: 3 << 20}, 200, "application/json; charset=utf-8",
			func(t *testing.T, body []byte) {
				if n := len(body); n < 3<<20 || n >= 3<<20+len(`{"Id":"x"},`) {
					t.Errorf("body of %d bytes, want about %d", n, 3<<20)
				}
				if !strings.HasPrefix(string(body), `[{"Id":"x"},{"Id":"x"},`) {
					t.Errorf("body starts %q", body[:30])
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := start(t, Config{})
			tok := token(t, s)
			b := s.AddBlob(BlobSpec{ContentType: "Audit.Exchange", Created: testNow.Add(-time.Hour), Records: 2})
			a := tt.answer
			a.Times = 1
			s.SetBlobAnswer(b.ContentID, &a)
			resp, body := api(t, s, "GET", tok, b.ContentURI, false)
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Content-Type") != tt.wantType {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, resp.Header.Get("Content-Type"), tt.wantStatus, tt.wantType)
			}
			for k, v := range tt.answer.Header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if tt.check != nil {
				tt.check(t, body)
			}
			// Times: 1 — the next download is the real blob again.
			resp, body = api(t, s, "GET", tok, b.ContentURI, false)
			if resp.StatusCode != 200 || len(decodeRecords(t, body)) != 2 {
				t.Errorf("after the override: %d %q", resp.StatusCode, body)
			}
		})
	}
}

func TestBlobAnswerRedirect(t *testing.T) {
	s, _ := start(t, Config{})
	tok := token(t, s)
	b := s.AddBlob(BlobSpec{ContentType: "Audit.Exchange", Created: testNow.Add(-time.Hour), Records: 1})
	s.SetBlobAnswer(b.ContentID, &Answer{Status: http.StatusFound, Header: map[string]string{"Location": "https://localhost:1/steal"}})
	c := s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest("GET", b.ContentURI+"?PublisherIdentifier="+DefaultTenantID, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://localhost:1/steal" {
		t.Errorf("got %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestBlobAnswerUntilCleared(t *testing.T) {
	s, _ := start(t, Config{})
	tok := token(t, s)
	b := s.AddBlob(BlobSpec{ContentType: "Audit.Exchange", Created: testNow.Add(-time.Hour), Records: 1})
	s.SetBlobAnswer(b.ContentID, &Answer{Body: "[1]"})
	for range 3 {
		if _, body := api(t, s, "GET", tok, b.ContentURI, false); string(body) != "[1]" {
			t.Fatalf("body %q, want the override", body)
		}
	}
	s.SetBlobAnswer(b.ContentID, nil)
	if _, body := api(t, s, "GET", tok, b.ContentURI, false); len(decodeRecords(t, body)) != 1 {
		t.Errorf("cleared override still answers: %q", body)
	}
}

func TestListingHostile(t *testing.T) {
	s, _ := start(t, Config{PageSize: 1})
	tok := token(t, s)
	from, to := testNow.Add(-2*time.Hour), testNow
	blobs := s.Generate("Audit.General", from, to, 40*time.Minute, 1) // 3 blobs, 3 pages
	first := s.APIRoot() + "/" + contentQuery("Audit.General", from, to) + "&PublisherIdentifier=" + DefaultTenantID

	t.Run("answer", func(t *testing.T) {
		s.SetListingAnswer("Audit.General", &Answer{ContentType: "text/html", Body: "<html>", Times: 1})
		resp, body := api(t, s, "GET", tok, first, false)
		if resp.StatusCode != 200 || string(body) != "<html>" {
			t.Errorf("got %d %q", resp.StatusCode, body)
		}
		if _, pages := listAll(t, s, tok, "Audit.General", from, to); pages != 3 {
			t.Errorf("after the override: %d pages, want 3", pages)
		}
	})
	t.Run("other host", func(t *testing.T) {
		s.SetPaging("Audit.General", Paging{Host: "https://localhost:1"})
		defer s.SetPaging("Audit.General", Paging{})
		resp, _ := api(t, s, "GET", tok, first, false)
		if next := resp.Header.Get("NextPageUri"); !strings.HasPrefix(next, "https://localhost:1/api/v1.0/") {
			t.Errorf("NextPageUri %q does not name the other host", next)
		}
	})
	t.Run("loop", func(t *testing.T) {
		s.SetPaging("Audit.General", Paging{Loop: true})
		defer s.SetPaging("Audit.General", Paging{})
		resp, _ := api(t, s, "GET", tok, first, false)
		if next := resp.Header.Get("NextPageUri"); next != first {
			t.Errorf("NextPageUri %q, want the page itself %q", next, first)
		}
	})
	t.Run("endless", func(t *testing.T) {
		s.SetPaging("Audit.General", Paging{Endless: true})
		defer s.SetPaging("Audit.General", Paging{})
		seen := map[string]bool{}
		var ids []string
		u := first
		for range 8 {
			resp, body := api(t, s, "GET", tok, u, false)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", u, resp.StatusCode, body)
			}
			var page []entry
			if err := json.Unmarshal(body, &page); err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				ids = append(ids, e.ContentID)
			}
			u = resp.Header.Get("NextPageUri")
			if u == "" || seen[u] {
				t.Fatalf("next page %q: want a new one every time", u)
			}
			seen[u] = true
		}
		if len(ids) != len(blobs) {
			t.Errorf("endless pages served %d entries, want each of the %d once", len(ids), len(blobs))
		}
	})
	t.Run("edited entry", func(t *testing.T) {
		s.EditListing(blobs[0].ContentID, map[string]any{"contentUri": nil, "contentCreated": "yesterday"})
		_, body := api(t, s, "GET", tok, first, false)
		var page []map[string]any
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		if len(page) != 1 || page[0]["contentCreated"] != "yesterday" || page[0]["contentUri"] != nil || page[0]["contentId"] != blobs[0].ContentID {
			t.Errorf("edited entry: %v", page)
		}
		s.EditListing(blobs[0].ContentID, nil)
		if all, _ := listAll(t, s, tok, "Audit.General", from, to); all[0].ContentURI != blobs[0].ContentURI {
			t.Errorf("restored entry: %+v", all[0])
		}
	})
}

func TestIssuedTokensAndAssertions(t *testing.T) {
	s, _ := start(t, Config{})
	tok := token(t, s)
	if got := s.IssuedTokens(); !slices.Contains(got, tok) {
		t.Errorf("IssuedTokens() = %d tokens, lacks the one issued", len(got))
	}
	if got := s.Assertions(); len(got) != 1 || strings.Count(got[0], ".") != 2 {
		t.Errorf("Assertions() = %v, want the one JWT posted", got)
	}
	resp, _ := api(t, s, "GET", tok, "subscriptions/list", false)
	if resp.StatusCode != 200 {
		t.Fatalf("list: %d", resp.StatusCode)
	}
	reqs := s.Requests()
	if h := reqs[len(reqs)-1].Host; h != strings.TrimPrefix(s.URL, "https://") {
		t.Errorf("Request.Host = %q, want %q", h, strings.TrimPrefix(s.URL, "https://"))
	}
}
