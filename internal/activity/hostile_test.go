package activity

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
	"github.com/o365logfetch/o365logfetch/internal/window"
)

// staticTokens hands out one token minted by the emulator: these tests are about the API side.
type staticTokens struct{ tok string }

func (s staticTokens) Token(context.Context) (string, error) { return s.tok, nil }
func (s staticTokens) Renew() error                          { return nil }

// hostileAPI is a client against an emulator with three blobs of Audit.General on three pages.
func hostileAPI(t *testing.T, maxBlob int64) (*Client, *emulator.Server, []emulator.Blob, window.Window) {
	t.Helper()
	return apiAgainst(t, emulator.Config{}, Options{MaxBlobBytes: maxBlob})
}

// apiAgainst is hostileAPI with the emulator's and the client's options given (PageSize, Now
// and the client's connection are filled in; a zero Retry tries once).
func apiAgainst(t *testing.T, cfg emulator.Config, o Options) (*Client, *emulator.Server, []emulator.Blob, window.Window) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	cfg.PageSize, cfg.Now = 1, func() time.Time { return now }
	srv, err := emulator.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	w := window.Window{Start: now.Add(-2 * time.Hour), End: now}
	blobs := srv.Generate("Audit.General", w.Start, w.End, 40*time.Minute, 2)
	o.Root, o.PublisherID, o.HTTP, o.Tokens = srv.APIRoot(), srv.Config().TenantID, srv.Client(), staticTokens{srv.AccessToken()}
	if o.Retry.Attempts == 0 {
		o.Retry = Retry{Attempts: 1, Base: time.Millisecond, Cap: time.Millisecond, RetryAfterCap: time.Millisecond, Budget: time.Millisecond}
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv, blobs, w
}

// otherHost names the emulator by another name: were the client to follow it, the request would
// arrive (the certificate covers localhost), and the test would see it.
func otherHost(srv *emulator.Server) string {
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

func noRequestTo(t *testing.T, srv *emulator.Server, host string) {
	t.Helper()
	u, _ := url.Parse(host)
	for _, r := range srv.Requests() {
		if strings.EqualFold(r.Host, u.Host) {
			t.Errorf("a request went to %s: %s %s (auth sent: %v)", r.Host, r.Method, r.Path, r.HasAuth)
		}
	}
}

func TestListRefusesHostileAnswers(t *testing.T) {
	tests := []struct {
		name string
		arm  func(srv *emulator.Server, blobs []emulator.Blob)
		want string
	}{
		{"NextPageUri on another host", func(srv *emulator.Server, _ []emulator.Blob) {
			srv.SetPaging("Audit.General", emulator.Paging{Host: otherHost(srv)})
		}, "points outside"},
		{"NextPageUri over plain http", func(srv *emulator.Server, _ []emulator.Blob) {
			srv.SetPaging("Audit.General", emulator.Paging{Host: strings.Replace(srv.URL, "https://", "http://", 1)})
		}, "points outside"},
		{"NextPageUri loops to the same page", func(srv *emulator.Server, _ []emulator.Blob) {
			srv.SetPaging("Audit.General", emulator.Paging{Loop: true})
		}, "same next page twice"},
		{"endless pages", func(srv *emulator.Server, _ []emulator.Blob) {
			srv.SetPaging("Audit.General", emulator.Paging{Endless: true})
		}, "more than 6 pages"},
		{"HTML page with status 200", func(srv *emulator.Server, _ []emulator.Blob) {
			srv.SetListingAnswer("Audit.General", &emulator.Answer{ContentType: "text/html", Body: "<html><body>Access denied by proxy</body></html>"})
		}, "HTML page instead of JSON"},
		{"not an array", func(srv *emulator.Server, _ []emulator.Blob) {
			srv.SetListingAnswer("Audit.General", &emulator.Answer{Body: `{"value":[]}`})
		}, "not a JSON array"},
		{"empty body", func(srv *emulator.Server, _ []emulator.Blob) {
			srv.SetListingAnswer("Audit.General", &emulator.Answer{})
		}, "not a JSON array"},
		{"page far bigger than any real one", func(srv *emulator.Server, _ []emulator.Blob) {
			srv.SetListingAnswer("Audit.General", &emulator.Answer{Body: "[", Filler: "                ", FillBytes: maxPageBytes + 1<<20})
		}, "larger than"},
	}
	defer func(n int) { maxPages = n }(maxPages)
	maxPages = 6
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv, blobs, w := hostileAPI(t, 0)
			tt.arm(srv, blobs)
			var got []Content
			err := c.List(context.Background(), "Audit.General", w, func(page []Content) error {
				got = append(got, page...)
				return nil
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("List error %v, want one naming %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "list Audit.General") {
				t.Errorf("error %q does not say what was listed", err)
			}
			noRequestTo(t, srv, otherHost(srv))
			for _, r := range srv.Requests() {
				if !strings.HasPrefix(srv.URL, "https://"+r.Host) {
					t.Errorf("request to %s", r.Host)
				}
			}
			if len(srv.Requests()) > maxPages {
				t.Errorf("%d requests, want at most %d", len(srv.Requests()), maxPages)
			}
		})
	}
}

// A bad entry does not end the listing: every entry, the bad one too, reaches the caller, and
// Check says what is wrong with it.
func TestListPassesBadEntriesOn(t *testing.T) {
	tests := []struct {
		name  string
		edit  map[string]any
		fault Fault
		want  string
	}{
		{"entry without contentUri", map[string]any{"contentUri": nil}, EntryNoURI, "without contentUri"},
		{"entry without contentId", map[string]any{"contentId": ""}, EntryNoID, "without contentId"},
		{"entry with a malformed date", map[string]any{"contentCreated": "26/11/2026 08:00"}, EntryBadTime, "contentCreated"},
		{"entry with a malformed expiration", map[string]any{"contentExpiration": "soon"}, EntryBadTime, "contentExpiration"},
		{"entry of another content type", map[string]any{"contentType": "Audit.Exchange"}, EntryOtherType, `contentType "Audit.Exchange"`},
		{"entry of the type in another casing", map[string]any{"contentType": "audit.general"}, EntryOK, ""},
		{"entry with a date that is a number", map[string]any{"contentCreated": 1764144000}, EntryBadTime, "contentCreated \"1764144000\""},
		{"entry with a contentUri that is an object", map[string]any{"contentUri": map[string]any{"href": "x"}}, EntryNoURI, "without contentUri"},
		{"entry with a contentId that is a number", map[string]any{"contentId": 42}, EntryOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv, blobs, w := hostileAPI(t, 0)
			srv.EditListing(blobs[1].ContentID, tt.edit)
			var got []Content
			err := c.List(context.Background(), "Audit.General", w, func(page []Content) error {
				got = append(got, page...)
				return nil
			})
			if err != nil || len(got) != len(blobs) {
				t.Fatalf("List: %v, %d entries, want %d", err, len(got), len(blobs))
			}
			for i, e := range got {
				fault, err := e.Check("Audit.General")
				want := EntryOK
				if i == 1 {
					want = tt.fault
				}
				if fault != want || (err == nil) != (want == EntryOK) {
					t.Errorf("entry %d: fault %d (%v), want %d", i, fault, err, want)
				}
				if err != nil && !strings.Contains(err.Error(), tt.want) {
					t.Errorf("entry %d: %q does not name %q", i, err, tt.want)
				}
			}
		})
	}
}

func TestDownloadRefusesHostileAnswers(t *testing.T) {
	const limit = 1 << 20
	tests := []struct {
		name    string
		arm     func(srv *emulator.Server, b emulator.Blob) emulator.Blob
		want    string
		wantErr error
	}{
		{"redirect to another host", func(srv *emulator.Server, b emulator.Blob) emulator.Blob {
			srv.SetBlobAnswer(b.ContentID, &emulator.Answer{Status: 302, Header: map[string]string{"Location": otherHost(srv) + "/steal"}})
			return b
		}, "redirect to", nil},
		{"permanent redirect", func(srv *emulator.Server, b emulator.Blob) emulator.Blob {
			srv.SetBlobAnswer(b.ContentID, &emulator.Answer{Status: 308, Header: map[string]string{"Location": otherHost(srv) + "/steal"}})
			return b
		}, "refused", nil},
		{"contentUri on another host", func(srv *emulator.Server, b emulator.Blob) emulator.Blob {
			b.ContentURI = strings.Replace(b.ContentURI, srv.URL, otherHost(srv), 1)
			return b
		}, "points outside", nil},
		{"HTML page with status 200", func(srv *emulator.Server, b emulator.Blob) emulator.Blob {
			srv.SetBlobAnswer(b.ContentID, &emulator.Answer{ContentType: "text/html; charset=utf-8", Body: "<!DOCTYPE html><title>Sign in</title>"})
			return b
		}, "Sign in", ErrNotJSON},
		{"body far bigger than any real one", func(srv *emulator.Server, b emulator.Blob) emulator.Blob {
			srv.SetBlobAnswer(b.ContentID, &emulator.Answer{Body: "[", Filler: `{"Id":"x"},`, FillBytes: 64 << 20})
			return b
		}, "larger than 1048576 bytes", ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv, blobs, _ := hostileAPI(t, limit)
			b := tt.arm(srv, blobs[0])
			content := Content{ContentType: b.ContentType, ContentID: b.ContentID, ContentURI: b.ContentURI}
			var read int64
			err := c.Download(context.Background(), content, func(r io.Reader) error {
				n, err := io.Copy(io.Discard, r)
				read += n
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Download error %v, want one naming %q", err, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), b.ContentID) {
				t.Errorf("error %q does not name the blob", err)
			}
			if read > limit {
				t.Errorf("read %d bytes of the body, limit %d", read, limit)
			}
			noRequestTo(t, srv, otherHost(srv))
		})
	}
}

func TestDownloadAtTheLimitIsWhole(t *testing.T) {
	c, srv, blobs, _ := hostileAPI(t, 4096)
	body := "[" + strings.Repeat(" ", 4094) + "]"
	srv.SetBlobAnswer(blobs[0].ContentID, &emulator.Answer{Body: body})
	var got bytes.Buffer
	err := c.Download(context.Background(), Content{ContentID: blobs[0].ContentID, ContentURI: blobs[0].ContentURI}, func(r io.Reader) error {
		got.Reset()
		_, err := io.Copy(&got, r)
		return err
	})
	if err != nil || got.String() != body {
		t.Fatalf("Download of exactly the limit: %v, %d bytes", err, got.Len())
	}
}

func FuzzDecodeListing(f *testing.F) {
	f.Add([]byte(`[{"contentType":"Audit.General","contentId":"a$b","contentUri":"https://manage.office.com/api/v1.0/t/activity/feed/audit/a$b","contentCreated":"2015-05-23T17:35:00.000Z","contentExpiration":"2015-05-30T17:35:00.000Z"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[{"contentId":"x","contentUri":"u","contentCreated":"2015-05-23T17:35:00"}]`))
	f.Add([]byte(`[{"contentId":"x","contentUri":"u","contentCreated":"yesterday"}]`))
	f.Add([]byte(`<html>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var entries []Content
		if err := decodeListing(bytes.NewReader(data), &entries); err != nil {
			return
		}
		for _, e := range entries {
			if fault, _ := e.Check("Audit.General"); fault != EntryOK && fault != EntryBadTime {
				continue
			}
			// What may be downloaded has what the download needs.
			if e.ContentID == "" || e.ContentURI == "" {
				t.Fatalf("validated entry is not usable: %+v", e)
			}
		}
	})
}

func FuzzSameOrigin(f *testing.F) {
	root := "https://manage.office.com/api/v1.0/41463f53-8812-40f4-890f-865bf6e35190/activity/feed"
	for _, s := range []string{
		root + "/subscriptions/content?contentType=Audit.General&nextPage=abc",
		root + "/audit/20261126$x?PublisherIdentifier=41463f53",
		"https://evil.example/api",
		"http://manage.office.com/api",
		"https://manage.office.com.evil.example/api",
		"https://manage.office.com@evil.example/api",
		"//evil.example/x",
		"/relative/path",
		"https://MANAGE.office.com:443/x",
		"https://manage.office.com/api/v1/41463f53-8812-40f4-890f-865bf6e35190/activity/feed/subscriptions/content?contenttype=Audit.SharePoint&starttime=2026-11-25T00:00:00&endtime=2026-11-25T23:00:00&nextpage=2023071100R022885001761",
		"https://manage.office.com/x?publisheridentifier=other&PUBLISHERIDENTIFIER=",
		"https://manage.office.com\\@evil.example/",
		"",
	} {
		f.Add(s)
	}
	c, err := New(Options{Root: root, PublisherID: "41463f53-8812-40f4-890f-865bf6e35190", HTTP: &http.Client{}, Tokens: staticTokens{"t"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := c.sameOrigin(c.root, raw)
		if err != nil {
			if out != "" {
				t.Fatalf("refused %q but returned %q", raw, out)
			}
			return
		}
		// What is accepted is exactly where the token may go, and carries PublisherIdentifier.
		u, err := url.Parse(out)
		if err != nil {
			t.Fatalf("accepted %q became unparsable %q: %v", raw, out, err)
		}
		if u.Scheme != "https" || !strings.EqualFold(u.Host, "manage.office.com") || u.User != nil {
			t.Fatalf("accepted %q goes to %s://%s (user %v)", raw, u.Scheme, u.Host, u.User)
		}
		if u.Query().Get("PublisherIdentifier") == "" {
			t.Fatalf("accepted %q without PublisherIdentifier: %q", raw, out)
		}
	})
}

func TestSameOriginResolvesAndKeepsTheQuery(t *testing.T) {
	const tenant = "41463f53-8812-40f4-890f-865bf6e35190"
	root := "https://manage.office.com/api/v1.0/" + tenant + "/activity/feed"
	c, err := New(Options{Root: root, PublisherID: tenant, HTTP: &http.Client{}, Tokens: staticTokens{"t"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := url.Parse(root + "/subscriptions/content?contentType=Audit.General&startTime=a&endTime=b&PublisherIdentifier=" + tenant)
	tests := []struct{ name, raw, want string }{
		{"relative to the host", "/api/v1/" + tenant + "/activity/feed/subscriptions/content?contenttype=Audit.General&nextpage=2",
			"https://manage.office.com/api/v1/" + tenant + "/activity/feed/subscriptions/content?contenttype=Audit.General&nextpage=2&PublisherIdentifier=" + tenant},
		{"relative to the page", "content?nextPage=3",
			root + "/subscriptions/content?nextPage=3&PublisherIdentifier=" + tenant},
		{"the default port written out", "https://MANAGE.office.com:443/x?nextPage=4",
			"https://manage.office.com/x?nextPage=4&PublisherIdentifier=" + tenant},
		{"a token the query parser would drop", "https://manage.office.com/x?nextPage=a;b%zz&endtime=c",
			"https://manage.office.com/x?nextPage=a;b%zz&endtime=c&PublisherIdentifier=" + tenant},
		{"another casing replaced", "https://manage.office.com/x?publisheridentifier=other&nextPage=5",
			"https://manage.office.com/x?nextPage=5&PublisherIdentifier=" + tenant},
		{"ours kept as sent", "https://manage.office.com/x?PublisherIdentifier=" + tenant + "&nextPage=6",
			"https://manage.office.com/x?PublisherIdentifier=" + tenant + "&nextPage=6"},
		{"another port", "https://manage.office.com:8443/x", ""},
		{"another host, relative to the scheme", "//evil.example/x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.sameOrigin(page, tt.raw)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("accepted %q as %q", tt.raw, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("sameOrigin(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
			}
		})
	}
}
