package activity

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
)

// The paging link is followed however the service names and writes it: the header in any
// casing or as NextPageUrl, lower-case query names, no PublisherIdentifier, /api/v1/.
func TestListFollowsLinksAsTheLiveServiceWritesThem(t *testing.T) {
	tests := []struct {
		name   string
		quirks bool
		header string
	}{
		{"documented", false, ""},
		{"NextPageUrl as in Microsoft's example", false, "NextPageUrl"},
		{"lower case, as over HTTP/2", false, "nextpageuri"},
		{"upper case NextPageUrl", false, "NEXTPAGEURL"},
		{"live service: lower-case query, no PublisherIdentifier, /api/v1/", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv, blobs, w := apiAgainst(t, emulator.Config{LiveQuirks: tt.quirks}, Options{})
			if tt.header != "" {
				srv.SetPaging("Audit.General", emulator.Paging{Header: tt.header})
			}
			var got []Content
			if err := c.List(context.Background(), "Audit.General", w, func(page []Content) error {
				got = append(got, page...)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(blobs) {
				t.Fatalf("listed %d blobs, want %d (one a page)", len(got), len(blobs))
			}
			for i, r := range srv.Requests() {
				if r.PublisherID != srv.Config().TenantID || strings.Count(strings.ToLower(r.RawQuery), "publisheridentifier=") != 1 {
					t.Errorf("request %d %s?%s: want PublisherIdentifier exactly once", i, r.Path, r.RawQuery)
				}
				if tt.quirks && i > 0 && !strings.HasPrefix(r.Path, "/api/v1/") {
					t.Errorf("request %d %s: the live link under /api/v1/ was not followed as sent", i, r.Path)
				}
			}
			for _, e := range got {
				if tt.quirks && e.ContentType != "Audit.general" {
					t.Errorf("listed contentType %q: the live casing should reach the caller as sent", e.ContentType)
				}
			}
		})
	}
}

// Throttled answers without Retry-After (as measured live) are retried with the client's own
// backoff, and they slow the shared pace down.
func TestThrottlingWithoutRetryAfterSlowsThePace(t *testing.T) {
	const rate = 60000
	c, srv, blobs, w := apiAgainst(t, emulator.Config{LiveQuirks: true, Seed: 7}, Options{
		RequestsPerMinute: rate,
		Retry:             Retry{Attempts: 10, Base: time.Millisecond, Cap: 5 * time.Millisecond, RetryAfterCap: time.Second, Budget: 10 * time.Second},
	})
	srv.SetFaults(emulator.Faults{Throttle429: 0.2, Throttle403: 0.1})
	ctx := context.Background()
	var listed []Content
	if err := c.List(ctx, "Audit.General", w, func(page []Content) error {
		listed = append(listed, page...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, b := range listed {
		if err := c.Download(ctx, b, func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }); err != nil {
			t.Fatalf("download %s: %v", b.ContentID, err)
		}
	}
	if len(listed) != len(blobs) {
		t.Fatalf("listed %d, want %d", len(listed), len(blobs))
	}
	if srv.Stats().Throttled == 0 {
		t.Fatal("nothing was throttled: the test proves nothing")
	}
	for _, r := range srv.Requests() {
		if r.Status == 429 && r.PublisherID == "" {
			t.Errorf("throttled request without PublisherIdentifier: %s", r.Path)
		}
	}
	if p := c.Pace(); p >= rate || p <= 0 {
		t.Errorf("pace %.0f/min after %d throttled answers, want below the configured %d", p, srv.Stats().Throttled, rate)
	}
}
