package cli_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
)

func TestCronRunFetchesEveryRecordOnce(t *testing.T) {
	h := newHarness(t, setup{emu: emulator.Config{Seed: 1}})
	now := h.clock.Now()
	for _, ct := range []string{"Audit.Exchange", "Audit.AzureActiveDirectory", "Audit.SharePoint"} {
		h.srv.Generate(ct, now.Add(-3*time.Hour), now.Add(-time.Minute), 20*time.Minute, 5)
	}
	h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.General", Created: now.Add(-30 * time.Minute), Records: 0})

	h.mustRun(0)
	total := 0
	for _, ct := range emulator.ContentTypes {
		total += h.exactlyOnce(ct)
	}
	if total != 3*9*5 {
		t.Errorf("records served = %d, want %d", total, 3*9*5)
	}
	st := h.srv.Stats()
	if st.Pages <= st.Listings {
		t.Errorf("pages %d, listings %d: paging with NextPageUri was not exercised", st.Pages, st.Listings)
	}
	if st.TokensIssued != 1 {
		t.Errorf("tokens issued = %d, want 1 (MSAL's cache reused)", st.TokensIssued)
	}
	for _, r := range h.srv.Requests() {
		if r.Kind == "discovery" || r.Kind == "token" {
			continue
		}
		if r.PublisherID != h.srv.Emulator.Config().TenantID {
			t.Errorf("%s %s?%s sent PublisherIdentifier %q", r.Method, r.Path, r.RawQuery, r.PublisherID)
		}
		if r.Kind == "content" {
			q, _ := url.ParseQuery(r.RawQuery)
			for _, k := range []string{"startTime", "endTime"} {
				if _, err := time.Parse("2006-01-02T15:04:05", q.Get(k)); err != nil {
					t.Errorf("%s = %q, want YYYY-MM-DDTHH:MM:SS", k, q.Get(k))
				}
			}
		}
	}

	// New content between runs: the next cron run takes it, and only it.
	h.clock.Advance(2 * time.Minute)
	h.srv.Generate("Audit.Exchange", now, now.Add(90*time.Second), 30*time.Second, 3)
	h.mustRun(0)
	for _, ct := range emulator.ContentTypes {
		h.exactlyOnce(ct)
	}
}

func TestStateRecordsProgressPerType(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	h.srv.Generate("Audit.Exchange", h.clock.Now().Add(-2*time.Hour), h.clock.Now().Add(-time.Minute), time.Hour, 2)
	h.mustRun(0)
	data, err := os.ReadFile(filepath.Join(h.state, "o365logfetch-state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"Audit.Exchange"`) || !strings.Contains(string(data), `"end"`) {
		t.Errorf("state file lacks the type's end:\n%s", data)
	}
}

func TestLegacyTimeLogIsTheStart(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	now := h.clock.Now()
	h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.Exchange", Created: now.Add(-50 * time.Hour), Records: 2})
	h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.Exchange", Created: now.Add(-30 * time.Minute), Records: 2})
	if err := os.MkdirAll(h.state, 0o700); err != nil {
		t.Fatal(err)
	}
	// The previous tool stopped 2 hours ago: the blob of 50 hours ago was already collected by it.
	writeFile(t, filepath.Join(h.state, "time.log"), itoa(now.Add(-2*time.Hour).Unix()))
	h.mustRun(0)
	if got := len(h.lines("Audit.Exchange")); got != 2 {
		t.Errorf("lines = %d, want 2 (only the blob after time.log)", got)
	}
}

func TestBackfillSplitsIntoDayWindows(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.SharePoint"}})
	now := h.clock.Now().UTC().Truncate(time.Second)
	h.srv.Generate("Audit.SharePoint", now.Add(-60*time.Hour), now.Add(-time.Hour), 6*time.Hour, 2)
	start := now.Add(-61 * time.Hour)
	h.mustRun(0, "--start", start.Format(time.RFC3339), "--end", now.Format("2006-01-02T15:04:05"))
	h.exactlyOnce("Audit.SharePoint")
	lists := 0
	for _, r := range h.srv.Requests() {
		if r.Kind != "content" || strings.Contains(r.RawQuery, "nextPage") {
			continue
		}
		lists++
		q, _ := url.ParseQuery(r.RawQuery)
		s, _ := time.Parse("2006-01-02T15:04:05", q.Get("startTime"))
		e, _ := time.Parse("2006-01-02T15:04:05", q.Get("endTime"))
		if e.Sub(s) > 24*time.Hour || !e.After(s) {
			t.Errorf("window %s..%s longer than 24 h or empty", s, e)
		}
	}
	if lists != 3 {
		t.Errorf("listed %d windows, want 3 for 61 hours", lists)
	}
	// A backfill leaves the cron progress alone: the next cron run starts from initialLookback.
	data, _ := os.ReadFile(filepath.Join(h.state, "o365logfetch-state.json"))
	if strings.Contains(string(data), now.Format("2006-01-02T15:04:05")) {
		t.Errorf("backfill moved the cron end:\n%s", data)
	}
	// What the backfill wrote is known: a cron run over the same period writes nothing again.
	h.mustRun(0, "--start", start.Format(time.RFC3339))
	h.exactlyOnce("Audit.SharePoint")
}

func TestBackfillOlderThanSevenDaysIsClamped(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	now := h.clock.Now()
	h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.Exchange", Created: now.Add(-6 * 24 * time.Hour), Records: 3})
	_, stderr := h.mustRun(0, "--start", now.Add(-8*24*time.Hour).Format("2006-01-02"), "--end", now.Add(-5*24*time.Hour).Format(time.RFC3339))
	if !strings.Contains(stderr, "can no longer be fetched") {
		t.Errorf("stderr lacks the clamp warning:\n%s", stderr)
	}
	h.exactlyOnce("Audit.Exchange")
}

func TestMissingSubscriptionIsReportedOthersFetched(t *testing.T) {
	h := newHarness(t, setup{
		emu:   emulator.Config{Subscriptions: map[string]string{"Audit.Exchange": "enabled", "Audit.General": "disabled"}},
		types: []string{"Audit.Exchange", "Audit.General", "Audit.SharePoint"},
		api:   "autoStartSubscriptions = False",
	})
	h.srv.Generate("Audit.Exchange", h.clock.Now().Add(-time.Hour), h.clock.Now().Add(-time.Minute), 20*time.Minute, 2)
	_, stderr := h.mustRun(1)
	h.exactlyOnce("Audit.Exchange")
	for _, want := range []string{"Audit.General has subscription is disabled", "Audit.SharePoint has no subscription", "subscriptions start"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestAutoStartStartsMissingSubscriptions(t *testing.T) {
	h := newHarness(t, setup{
		emu:   emulator.Config{Subscriptions: map[string]string{"Audit.General": "disabled"}},
		types: []string{"Audit.General", "DLP.All"},
	})
	h.mustRun(0)
	for _, ct := range []string{"Audit.General", "DLP.All"} {
		if got := h.srv.Subscription(ct); got != "enabled" {
			t.Errorf("%s subscription = %q, want enabled", ct, got)
		}
	}
}

func TestExpiredBlobIsReportedOthersArrive(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	now := h.clock.Now()
	blobs := h.srv.Generate("Audit.Exchange", now.Add(-2*time.Hour), now.Add(-time.Minute), 30*time.Minute, 2)
	h.srv.FailBlob(blobs[1].ContentID, 0) // make sure no earlier failure is set
	// An expired blob answers AF20051 — the emulator does so past contentExpiration; simulate
	// a listing that still names it by failing it with the expired answer.
	h.srv.ExpireBlob(blobs[1].ContentID)
	_, stderr := h.mustRun(1)
	if !strings.Contains(stderr, blobs[1].ContentID) || !strings.Contains(stderr, "expired") {
		t.Errorf("stderr does not name the expired blob %s:\n%s", blobs[1].ContentID, stderr)
	}
	if got := len(h.lines("Audit.Exchange")); got != 2*(len(blobs)-1) {
		t.Errorf("lines = %d, want %d", got, 2*(len(blobs)-1))
	}
}
