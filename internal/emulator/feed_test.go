package emulator

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAPIAuthorization(t *testing.T) {
	s, clk := start(t, Config{})
	tok := token(t, s)
	noRole, _ := start(t, Config{Roles: []string{"ActivityFeed.ReadDlp"}})
	noRoleTok := token(t, noRole)
	otherTenant := "11111111-2222-4333-8444-555555555555"

	tests := []struct {
		name   string
		srv    *Server
		tok    string
		url    string
		noPub  bool
		status int
		code   string
	}{
		{"valid", s, tok, "subscriptions/list", false, 200, ""},
		{"no token", s, "", "subscriptions/list", false, 401, "AF10001"},
		{"garbage token", s, "abc.def.ghi", "subscriptions/list", false, 401, "AF10001"},
		{"token of another emulator", s, noRoleTok, "subscriptions/list", false, 401, "AF10001"},
		{"tenant in URL differs", s, tok, strings.Replace(s.APIRoot(), DefaultTenantID, otherTenant, 1) + "/subscriptions/list?PublisherIdentifier=" + DefaultTenantID, false, 401, "AF20010"},
		{"token lacks ActivityFeed.Read", noRole, noRoleTok, "subscriptions/list", false, 401, "AF10001"},
		{"missing PublisherIdentifier", s, tok, "subscriptions/list", true, 400, "PublisherIdentifierMissing"},
		{"PublisherIdentifier of another tenant", s, tok, "subscriptions/list?PublisherIdentifier=" + otherTenant, false, 400, "PublisherIdentifierMissing"},
		{"missing PublisherIdentifier on blob", s, tok, "audit/x", true, 400, "PublisherIdentifierMissing"},
		{"listing with GET only", s, tok, "subscriptions/start?contentType=Audit.Exchange", false, 405, "AF20000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := api(t, tt.srv, http.MethodGet, tt.tok, tt.url, tt.noPub)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.code != "" {
				if got := afCode(t, body); got != tt.code {
					t.Errorf("code %s, want %s", got, tt.code)
				}
			}
		})
	}

	t.Run("expired token", func(t *testing.T) {
		clk.Add(time.Hour)
		defer clk.Add(-time.Hour)
		resp, body := api(t, s, http.MethodGet, tok, "subscriptions/list", false)
		if resp.StatusCode != 401 || afCode(t, body) != "AF10001" {
			t.Fatalf("got %d %s, want 401 AF10001", resp.StatusCode, body)
		}
	})
}

func TestSubscriptions(t *testing.T) {
	s, _ := start(t, Config{Subscriptions: map[string]string{"Audit.General": "disabled"}})
	tok := token(t, s)
	steps := []struct {
		name   string
		method string
		url    string
		status int
		code   string
		body   string
	}{
		{"list shows only existing", "GET", "subscriptions/list", 200, "", `[{"contentType":"Audit.General","status":"disabled","webhook":null}]`},
		{"listing without subscription", "GET", contentQuery("Audit.Exchange", testNow.Add(-time.Hour), testNow), 400, "AF20022", ""},
		{"listing of disabled", "GET", contentQuery("Audit.General", testNow.Add(-time.Hour), testNow), 400, "AF20023", ""},
		{"start", "POST", "subscriptions/start?contentType=Audit.Exchange", 200, "", `{"contentType":"Audit.Exchange","status":"enabled","webhook":null}`},
		{"start again", "POST", "subscriptions/start?contentType=Audit.Exchange", 400, "AF20024", ""},
		{"start disabled", "POST", "subscriptions/start?contentType=Audit.General", 200, "", `{"contentType":"Audit.General","status":"enabled","webhook":null}`},
		{"start wrong casing", "POST", "subscriptions/start?contentType=audit.exchange", 400, "AF20020", ""},
		{"start unknown type", "POST", "subscriptions/start?contentType=Audit.Teams", 400, "AF20020", ""},
		{"listing now works", "GET", contentQuery("Audit.Exchange", testNow.Add(-time.Hour), testNow), 200, "", "[]"},
		{"list", "GET", "subscriptions/list", 200, "", `[{"contentType":"Audit.Exchange","status":"enabled","webhook":null},{"contentType":"Audit.General","status":"enabled","webhook":null}]`},
		{"stop", "POST", "subscriptions/stop?contentType=Audit.Exchange", 200, "", ""},
		{"stop without subscription", "POST", "subscriptions/stop?contentType=DLP.All", 400, "AF20022", ""},
		{"listing after stop", "GET", contentQuery("Audit.Exchange", testNow.Add(-time.Hour), testNow), 400, "AF20023", ""},
	}
	for _, st := range steps {
		resp, body := api(t, s, st.method, tok, st.url, false)
		if resp.StatusCode != st.status {
			t.Fatalf("%s: status %d, want %d: %s", st.name, resp.StatusCode, st.status, body)
		}
		if st.code != "" && afCode(t, body) != st.code {
			t.Errorf("%s: code %s, want %s", st.name, afCode(t, body), st.code)
		}
		if st.code == "" && string(body) != st.body {
			t.Errorf("%s: body %s, want %s", st.name, body, st.body)
		}
	}
	if got := s.Subscription("Audit.Exchange"); got != StatusDisabled {
		t.Errorf("Subscription = %q, want disabled", got)
	}
}

func TestListingWindow(t *testing.T) {
	s, _ := start(t, Config{})
	tok := token(t, s)
	f := "2006-01-02T15:04:05"
	n := testNow
	tests := []struct {
		name   string
		query  string
		status int
	}{
		{"both omitted", "", 200},
		{"one hour", "&startTime=" + n.Add(-time.Hour).Format(f) + "&endTime=" + n.Format(f), 200},
		{"exactly 24h", "&startTime=" + n.Add(-24*time.Hour).Format(f) + "&endTime=" + n.Format(f), 200},
		{"with Z and fraction", "&startTime=" + n.Add(-time.Hour).Format(f) + ".123Z&endTime=" + n.Format(f) + "Z", 200},
		{"start 7 days minus 5 minutes back", "&startTime=" + n.Add(-retention+5*time.Minute).Format(f) + "&endTime=" + n.Add(-retention+time.Hour).Format(f), 200},
		{"end in the future", "&startTime=" + n.Format(f) + "&endTime=" + n.Add(time.Hour).Format(f), 200},
		{"only start", "&startTime=" + n.Add(-time.Hour).Format(f), 400},
		{"only end", "&endTime=" + n.Format(f), 400},
		{"end equals start", "&startTime=" + n.Format(f) + "&endTime=" + n.Format(f), 400},
		{"end before start", "&startTime=" + n.Format(f) + "&endTime=" + n.Add(-time.Hour).Format(f), 400},
		{"over 24h", "&startTime=" + n.Add(-24*time.Hour-time.Second).Format(f) + "&endTime=" + n.Format(f), 400},
		{"start over 7 days back", "&startTime=" + n.Add(-retention-time.Second).Format(f) + "&endTime=" + n.Add(-retention+time.Hour).Format(f), 400},
		{"offset instead of Z", "&startTime=" + n.Add(-time.Hour).Format(f) + "%2B00:00&endTime=" + n.Format(f), 400},
		{"date only", "&startTime=" + n.Add(-time.Hour).Format("2006-01-02") + "&endTime=" + n.Format(f), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := api(t, s, "GET", tok, "subscriptions/content?contentType=Audit.SharePoint"+tt.query, false)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status == 400 {
				var e struct {
					Error struct{ Code, Message string }
				}
				_ = json.Unmarshal(body, &e)
				if e.Error.Code != "AF20055" || e.Error.Message != msgAF20055 {
					t.Errorf("error %+v, want AF20055", e.Error)
				}
			}
		})
	}
}

type entry struct {
	ContentType, ContentID, ContentURI, ContentCreated, ContentExpiration string
}

// listAll follows NextPageUri and returns every entry and the page count.
func listAll(t *testing.T, s *Server, tok, ct string, start, end time.Time) ([]entry, int) {
	t.Helper()
	var all []entry
	u := s.APIRoot() + "/" + contentQuery(ct, start, end)
	pages := 0
	for u != "" {
		resp, body := api(t, s, "GET", tok, u, false)
		if resp.StatusCode != 200 {
			t.Fatalf("listing %s: %d %s", u, resp.StatusCode, body)
		}
		var page []entry
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		pages++
		u = resp.Header.Get("NextPageUri")
	}
	return all, pages
}

func TestListingFilter(t *testing.T) {
	s, clk := start(t, Config{PageSize: 100})
	tok := token(t, s)
	st, en := testNow.Add(-2*time.Hour), testNow.Add(-time.Hour)
	add := func(created time.Time, visible time.Duration) string {
		return s.AddBlob(BlobSpec{ContentType: "Audit.Exchange", Created: created, VisibleAfter: visible, Records: 1}).ContentID
	}
	before := add(st.Add(-time.Millisecond), 0)
	atStart := add(st, 0)
	beforeEnd := add(en.Add(-time.Millisecond), 0)
	atEnd := add(en, 0)
	late := add(st.Add(time.Minute), 3*time.Hour)
	other := s.AddBlob(BlobSpec{ContentType: "Audit.SharePoint", Created: st.Add(time.Minute)}).ContentID

	ids := func() map[string]bool {
		got, _ := listAll(t, s, tok, "Audit.Exchange", st, en)
		m := map[string]bool{}
		for _, e := range got {
			m[e.ContentID] = true
		}
		return m
	}
	got := ids()
	for _, c := range []struct {
		name string
		id   string
		want bool
	}{
		{"created 1ms before start", before, false},
		{"created at start", atStart, true},
		{"created 1ms before end", beforeEnd, true},
		{"created at end", atEnd, false},
		{"not yet published", late, false},
		{"other content type", other, false},
	} {
		if got[c.id] != c.want {
			t.Errorf("%s: listed %v, want %v", c.name, got[c.id], c.want)
		}
	}
	clk.Add(3 * time.Hour)
	tok = token(t, s)
	// The window now starts more than 5 hours back: still inside 7 days.
	if !ids()[late] {
		t.Error("late blob not listed once visible")
	}
}

func TestListingPaging(t *testing.T) {
	s, clk := start(t, Config{PageSize: 3})
	tok := token(t, s)
	st := testNow.Add(-3 * time.Hour)
	blobs := s.Generate("Audit.AzureActiveDirectory", st, st.Add(10*time.Minute), time.Minute, 2)
	got, pages := listAll(t, s, tok, "Audit.AzureActiveDirectory", st, testNow)
	if len(got) != 10 || pages != 4 {
		t.Fatalf("got %d entries in %d pages, want 10 in 4", len(got), pages)
	}
	for i, e := range got {
		b := blobs[i]
		if e.ContentID != b.ContentID || e.ContentURI != b.ContentURI || e.ContentType != "Audit.AzureActiveDirectory" {
			t.Errorf("entry %d = %+v, want blob %+v", i, e, b)
		}
		if e.ContentCreated != b.Created.Format("2006-01-02T15:04:05.000Z") || e.ContentExpiration != b.Created.Add(7*24*time.Hour).Format("2006-01-02T15:04:05.000Z") {
			t.Errorf("entry %d times %s %s", i, e.ContentCreated, e.ContentExpiration)
		}
	}
	if st := s.Stats(); st.Listings != 1 || st.Pages != 4 {
		t.Errorf("stats %+v, want 1 listing, 4 pages", st)
	}

	// Late content published between pages is not skipped.
	resp, _ := api(t, s, "GET", tok, contentQuery("Audit.AzureActiveDirectory", st, testNow), false)
	next := resp.Header.Get("NextPageUri")
	s.AddBlob(BlobSpec{ContentType: "Audit.AzureActiveDirectory", Created: st.Add(30 * time.Second)})
	s.AddBlob(BlobSpec{ContentType: "Audit.AzureActiveDirectory", Created: st.Add(20 * time.Minute), VisibleAfter: time.Minute})
	clk.Add(time.Minute)
	rest := 0
	for u := next; u != ""; {
		resp, body := api(t, s, "GET", tok, u, false)
		var page []entry
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		rest += len(page)
		u = resp.Header.Get("NextPageUri")
	}
	if rest != 8 {
		t.Errorf("after the first page got %d entries, want 7 old + 1 new after the position", rest)
	}

	u, err := url.Parse(next)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("PublisherIdentifier") != DefaultTenantID || q.Get("contentType") != "Audit.AzureActiveDirectory" || q.Get("startTime") != apiTime(st) || q.Get("endTime") != apiTime(testNow) || q.Get("nextPage") == "" {
		t.Errorf("NextPageUri query %v", q)
	}
	tampered := func(f func(url.Values)) string {
		v := u.Query()
		f(v)
		return s.APIRoot() + "/subscriptions/content?" + v.Encode()
	}
	for _, tc := range []struct {
		name string
		url  string
		code string
	}{
		{"tampered token", tampered(func(v url.Values) { v.Set("nextPage", flipChar(v.Get("nextPage"), 10)) }), "AF20031"},
		{"unknown token", tampered(func(v url.Values) { v.Set("nextPage", "2015101900R022885001761") }), "AF20031"},
		{"token with another window", tampered(func(v url.Values) { v.Set("startTime", apiTime(st.Add(time.Minute))) }), "AF20031"},
		{"token with another type", tampered(func(v url.Values) { v.Set("contentType", "Audit.Exchange") }), "AF20031"},
		{"page without times", tampered(func(v url.Values) { v.Del("startTime"); v.Del("endTime") }), "AF20031"},
		{"page without PublisherIdentifier", tampered(func(v url.Values) { v.Del("PublisherIdentifier") }), "PublisherIdentifierMissing"},
	} {
		resp, body := api(t, s, "GET", tok, tc.url, tc.code == "PublisherIdentifierMissing")
		if resp.StatusCode != 400 || afCode(t, body) != tc.code {
			t.Errorf("%s: %d %s, want 400 %s", tc.name, resp.StatusCode, body, tc.code)
		}
	}
}

// TestNextPageUriSpelling reads the raw answer: Go's client canonicalises
// header names, hiding a wrong spelling.
func TestNextPageUriSpelling(t *testing.T) {
	s, _ := start(t, Config{PageSize: 1})
	tok := token(t, s)
	s.Generate("DLP.All", testNow.Add(-time.Hour), testNow, 20*time.Minute, 0)
	conn, err := tls.Dial("tcp", strings.TrimPrefix(s.URL, "https://"), s.Client().Transport.(*http.Transport).TLSClientConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	path := "/api/v1.0/" + DefaultTenantID + "/activity/feed/" + contentQuery("DLP.All", testNow.Add(-time.Hour), testNow) + "&PublisherIdentifier=" + DefaultTenantID
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", path, strings.TrimPrefix(s.URL, "https://"), tok)
	sc := bufio.NewScanner(conn)
	found := false
	for sc.Scan() && sc.Text() != "" {
		if strings.HasPrefix(sc.Text(), "NextPageUri: "+s.APIRoot()+"/subscriptions/content?") {
			found = true
		}
	}
	if !found {
		t.Error("no header spelled exactly NextPageUri with an absolute URL")
	}
}

func TestBlobErrors(t *testing.T) {
	s, clk := start(t, Config{})
	tok := token(t, s)
	b := s.AddBlob(BlobSpec{ContentType: "Audit.Exchange", Created: testNow.Add(-time.Hour), Records: 2})
	failing := s.AddBlob(BlobSpec{ContentType: "Audit.Exchange", Created: testNow.Add(-time.Hour), Records: 2})
	s.FailBlob(failing.ContentID, http.StatusInternalServerError)

	check := func(name, u string, status int, code string) {
		t.Helper()
		resp, body := api(t, s, "GET", tok, u, false)
		if resp.StatusCode != status {
			t.Fatalf("%s: status %d, want %d: %.200s", name, resp.StatusCode, status, body)
		}
		if code != "" && afCode(t, body) != code {
			t.Errorf("%s: code %s, want %s", name, afCode(t, body), code)
		}
	}
	check("fresh blob", b.ContentURI, 200, "")
	check("unknown id", s.APIRoot()+"/audit/20261126$nope", 400, "AF20052")
	check("failing blob", failing.ContentURI, 500, "AF50000")
	s.FailBlob(failing.ContentID, 0)
	check("failing blob healed", failing.ContentURI, 200, "")
	clk.Add(7*24*time.Hour - time.Hour)
	tok = token(t, s)
	check("at expiration", b.ContentURI, 200, "")
	clk.Add(time.Millisecond)
	check("expired", b.ContentURI, 400, "AF20051")
	if n := s.Stats().BlobDownloads; n != 3 {
		t.Errorf("BlobDownloads = %d, want 3", n)
	}
}

// flipChar changes the character at i to another one (the token is random: a fixed replacement
// would sometimes be the character already there).
func flipChar(s string, i int) string {
	c := byte('A')
	if s[i] == c {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}
