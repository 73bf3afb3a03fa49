package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
)

// onlyOwnHost fails if any request reached the emulator under another name than the
// configured one: the token went somewhere it must not.
func onlyOwnHost(t *testing.T, h *harness) {
	t.Helper()
	own := strings.TrimPrefix(h.srv.URL, "https://")
	for _, r := range h.srv.Requests() {
		if r.Host != own {
			t.Errorf("request sent to %s: %s %s (Authorization sent: %v)", r.Host, r.Method, r.Path, r.HasAuth)
		}
	}
}

// Every bad answer of the API gives a clear error and exit 1, writes no partial or invalid
// line, keeps the blob or the window for the next run, and the next run (the API healthy
// again) gets every record exactly once.
func TestHostileAnswersLoseNothing(t *testing.T) {
	const ct = "Audit.Exchange"
	type blobs = []emulator.Blob
	blobAnswer := func(a emulator.Answer) func(*harness, blobs) {
		return func(h *harness, b blobs) { h.srv.SetBlobAnswer(b[1].ContentID, &a) }
	}
	tests := []struct {
		name    string
		arm     func(h *harness, b blobs)
		disarm  func(h *harness, b blobs)
		want    string // in stderr
		listing bool   // the listing fails (the window stays pending), not one blob
		fetched bool   // the blob is fetched all the same: only its listing entry's metadata is odd
	}{
		{name: "blob is not a JSON array", arm: blobAnswer(emulator.Answer{Body: `{"value":[{"Id":"x"}]}`}), want: "expected a JSON array"},
		{name: "blob is truncated JSON", arm: blobAnswer(emulator.Answer{Body: `[{"Id":"a","Operation":"UserLoggedIn"},{"Id":"b","Oper`}), want: "blob format"},
		{name: "blob has invalid UTF-8", arm: blobAnswer(emulator.Answer{Body: "[{\"Id\":\"a\",\"UserId\":\"caf\xe9\"}]"}), want: "UTF-8"},
		{name: "blob record is not an object", arm: blobAnswer(emulator.Answer{Body: `[{"Id":"a"},42]`}), want: "not a JSON object"},
		{name: "blob body is empty", arm: blobAnswer(emulator.Answer{}), want: "empty body"},
		{name: "blob is an HTML page with status 200", arm: blobAnswer(emulator.Answer{ContentType: "text/html", Body: "<html><title>Proxy login</title></html>"}), want: "HTML page instead of JSON"},
		{name: "blob is an HTML page with status 502", arm: blobAnswer(emulator.Answer{Status: 502, ContentType: "text/html", Body: "<html><h1>502 Bad Gateway</h1></html>"}), want: "502 Bad Gateway"},
		{name: "blob download redirects to another host", arm: func(h *harness, b blobs) {
			h.srv.SetBlobAnswer(b[1].ContentID, &emulator.Answer{Status: 302, Header: map[string]string{"Location": otherOrigin(h) + "/steal"}})
		}, want: "redirect to"},
		{name: "NextPageUri on another host", listing: true, arm: func(h *harness, _ blobs) {
			h.srv.SetPaging(ct, emulator.Paging{Host: otherOrigin(h)})
		}, want: "refusing to send the token there"},
		{name: "NextPageUri over plain http", listing: true, arm: func(h *harness, _ blobs) {
			h.srv.SetPaging(ct, emulator.Paging{Host: strings.Replace(h.srv.URL, "https", "http", 1)})
		}, want: "refusing to send the token there"},
		{name: "NextPageUri loops to the same page", listing: true, arm: func(h *harness, _ blobs) {
			h.srv.SetPaging(ct, emulator.Paging{Loop: true})
		}, want: "same next page twice"},
		{name: "listing entry without contentUri", arm: func(h *harness, b blobs) {
			h.srv.EditListing(b[1].ContentID, map[string]any{"contentUri": nil})
		}, want: "without contentUri"},
		{name: "listing entry with a malformed date", fetched: true, arm: func(h *harness, b blobs) {
			h.srv.EditListing(b[1].ContentID, map[string]any{"contentCreated": "2026-13-45T99:00:00Z"})
		}, want: "contentCreated"},
		{name: "listing is an HTML page with status 200", listing: true, arm: func(h *harness, _ blobs) {
			h.srv.SetListingAnswer(ct, &emulator.Answer{ContentType: "text/html", Body: "<html>Access denied</html>"})
		}, want: "HTML page instead of JSON"},
		{name: "listing far bigger than any real one", listing: true, arm: func(h *harness, _ blobs) {
			h.srv.SetListingAnswer(ct, &emulator.Answer{Body: "[", Filler: strings.Repeat(" ", 4096), FillBytes: 65 << 20})
		}, want: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One entry per page, so that every listing has next pages to bend.
			h := newHarness(t, setup{types: []string{ct}, emu: emulator.Config{PageSize: 1}})
			now := h.clock.Now()
			b := h.srv.Generate(ct, now.Add(-2*time.Hour), now.Add(-time.Minute), 30*time.Minute, 3)
			tt.arm(h, b)

			code, _, stderr := h.runWith(nil)
			if code != 1 {
				t.Fatalf("exit code %d, want 1\nstderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not name %q:\n%s", tt.want, stderr)
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Errorf("stack trace:\n%s", stderr)
			}
			written := map[any]bool{}
			for _, rec := range h.lines(ct) { // every line a complete JSON object
				// Pages listed before a bad one are fetched; a bad blob never is.
				if !tt.listing && !tt.fetched && rec["contentId"] == b[1].ContentID {
					t.Errorf("a record of the bad blob was written: %v", rec)
				}
				written[rec["contentId"]] = true
			}
			for i, blob := range b { // one bad blob or entry stops nothing else
				if !tt.listing && (i != 1 || tt.fetched) && !written[blob.ContentID] {
					t.Errorf("blob %s was not fetched", blob.ContentID)
				}
			}
			onlyOwnHost(t, h)
			st := h.saved(ct)
			if !tt.fetched && st.End.After(b[1].Created) {
				t.Errorf("saved end %s passed the content not fetched (created %s)", st.End, b[1].Created)
			}
			if _, pending := st.Pending[b[1].ContentID]; !tt.listing && !tt.fetched && !pending {
				t.Errorf("blob %s is not pending in the state", b[1].ContentID)
			}

			// The API is healthy again: the next run gets everything, once.
			h.srv.SetBlobAnswer(b[1].ContentID, nil)
			h.srv.SetPaging(ct, emulator.Paging{})
			h.srv.EditListing(b[1].ContentID, nil)
			h.srv.SetListingAnswer(ct, nil)
			h.clock.Advance(time.Minute)
			if code, _, stderr := h.runWith(nil); code != 0 {
				t.Fatalf("next run: exit code %d, want 0\nstderr:\n%s", code, stderr)
			}
			h.exactlyOnce(ct)
			if p := h.saved(ct).Pending; len(p) != 0 {
				t.Errorf("still pending after the recovery: %v", p)
			}
		})
	}
}

// A gateway error that passes is retried within the run.
func TestTransientHTMLGatewayPageIsRetried(t *testing.T) {
	const ct = "Audit.SharePoint"
	h := newHarness(t, setup{types: []string{ct}})
	now := h.clock.Now()
	b := h.srv.Generate(ct, now.Add(-time.Hour), now.Add(-time.Minute), 20*time.Minute, 2)
	h.srv.SetBlobAnswer(b[0].ContentID, &emulator.Answer{Status: 502, ContentType: "text/html", Body: "<html>502</html>", Times: 2})
	h.srv.SetListingAnswer(ct, &emulator.Answer{Status: 503, ContentType: "text/html", Body: "<html>503</html>", Times: 1})
	if code, _, stderr := h.runWith(nil); code != 0 {
		t.Fatalf("exit code %d, want 0\nstderr:\n%s", code, stderr)
	}
	h.exactlyOnce(ct)
}

// A contentUri on another host is refused: the token is never sent there, the blob stays
// pending, and the rest of the type is fetched.
func TestContentURIOnAnotherHostIsRefused(t *testing.T) {
	const ct = "Audit.General"
	h := newHarness(t, setup{types: []string{ct}})
	now := h.clock.Now()
	b := h.srv.Generate(ct, now.Add(-time.Hour), now.Add(-time.Minute), 20*time.Minute, 2)
	bad := strings.Replace(b[1].ContentURI, h.srv.URL, otherOrigin(h), 1)
	h.srv.EditListing(b[1].ContentID, map[string]any{"contentUri": bad})
	code, _, stderr := h.runWith(nil)
	if code != 1 {
		t.Fatalf("exit code %d, want 1\nstderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, b[1].ContentID) || !strings.Contains(stderr, "refusing to send the token there") {
		t.Errorf("stderr does not explain the refused blob:\n%s", stderr)
	}
	onlyOwnHost(t, h)
	if got, want := len(h.lines(ct)), 2*(len(b)-1); got != want {
		t.Errorf("lines = %d, want %d (every other blob)", got, want)
	}
	if _, ok := h.saved(ct).Pending[b[1].ContentID]; !ok {
		t.Errorf("blob %s is not pending", b[1].ContentID)
	}
}
