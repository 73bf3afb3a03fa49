package cli_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
	"github.com/o365logfetch/o365logfetch/internal/state"
)

// The live service differs from Microsoft's documentation (see the emulator's LiveQuirks):
// a window of exactly 24 hours is refused, next-page links come lower-case, without
// PublisherIdentifier and under /api/v1/, throttling comes without Retry-After, and listing
// entries spell the content type in another casing. A new install and a long backfill must
// still deliver everything.

func TestLiveQuirksFirstCronRunWithoutState(t *testing.T) {
	h := newHarness(t, setup{emu: emulator.Config{LiveQuirks: true, Seed: 31}})
	now := h.clock.Now()
	for _, ct := range emulator.ContentTypes {
		// Everything the first run can see: it starts initialLookback (22 h) back.
		h.srv.Generate(ct, now.Add(-22*time.Hour+time.Minute), now, 40*time.Minute, 2)
	}
	h.mustRun(0)
	for _, ct := range emulator.ContentTypes {
		if n := h.exactlyOnce(ct); n == 0 {
			t.Errorf("%s: nothing served", ct)
		}
	}
	h.liveQuirksSeen()

	// The next run finds nothing new and still exits 0.
	h.clock.Advance(2 * time.Minute)
	h.mustRun(0)
	for _, ct := range emulator.ContentTypes {
		h.exactlyOnce(ct)
	}
	h.publisherOnEvery()
}

func TestLiveQuirksSeventyHourBackfill(t *testing.T) {
	h := newHarness(t, setup{emu: emulator.Config{LiveQuirks: true, Seed: 32}})
	now := h.clock.Now().UTC().Truncate(time.Second)
	start := now.Add(-70 * time.Hour)
	for _, ct := range emulator.ContentTypes {
		h.srv.Generate(ct, start, now, 3*time.Hour, 2)
	}
	// Throttled answers without Retry-After, as measured on the live service.
	h.srv.SetFaults(emulator.Faults{Throttle429: 0.02, Throttle403: 0.02})
	// The previous tool's flags, epoch seconds.
	_, stderr := h.mustRun(0, "-s", strconv.FormatInt(start.Unix(), 10), "-e", strconv.FormatInt(now.Unix(), 10))
	for _, ct := range emulator.ContentTypes {
		h.exactlyOnce(ct)
	}
	h.liveQuirksSeen()
	if h.srv.Stats().Throttled == 0 {
		t.Error("no request was throttled: the test proves nothing about throttling")
	}
	if strings.Contains(stderr, "AF20055") {
		t.Errorf("a window was refused:\n%s", stderr)
	}
}

// liveQuirksSeen checks that the quirks were met, not avoided: pages were followed through
// the lower-case /api/v1/ links, every request carried PublisherIdentifier, no window was
// refused, and no listing window was 24 hours long.
func (h *harness) liveQuirksSeen() {
	h.t.Helper()
	v1, refused := 0, 0
	for _, r := range h.srv.Requests() {
		if strings.HasPrefix(r.Path, "/api/v1/") {
			v1++
		}
		if r.Kind == "content" && r.Status == 400 {
			refused++
		}
	}
	if v1 == 0 {
		h.t.Error("no next page was followed: use more blobs than a page holds")
	}
	if refused > 0 {
		h.t.Errorf("%d listing requests refused", refused)
	}
	if n := h.publisherOnEvery(); n == 0 {
		h.t.Error("no API request seen")
	}
}

// TestRefusedWindowsAreSplit: a service that accepts only 5-hour windows still gets every
// record of a 70-hour backfill; one that refuses even 15 minutes gets a clear error, exit 1.
func TestRefusedWindowsAreSplit(t *testing.T) {
	h := newHarness(t, setup{emu: emulator.Config{LiveQuirks: true, MaxWindow: 5 * time.Hour, Seed: 33}, types: []string{"Audit.General"}})
	now := h.clock.Now().UTC().Truncate(time.Second)
	start := now.Add(-70 * time.Hour)
	h.srv.Generate("Audit.General", start, now, 90*time.Minute, 2)
	h.mustRun(0, "--start", start.Format(time.RFC3339), "--end", now.Format(time.RFC3339))
	h.exactlyOnce("Audit.General")
	debug, _ := os.ReadFile(filepath.Join(h.debug, "debug.log"))
	if !strings.Contains(string(debug), "listing its halves instead") {
		t.Error("debug.log does not say that windows were split")
	}

	tight := newHarness(t, setup{emu: emulator.Config{MaxWindow: 10 * time.Minute, Seed: 34}, types: []string{"Audit.General"}})
	_, stderr := tight.mustRun(1)
	if !strings.Contains(stderr, "AF20055") || !strings.Contains(stderr, "check the machine's clock") {
		t.Errorf("stderr does not name AF20055 and the clock:\n%s", stderr)
	}
	// Nothing was listed, so progress stays where the first run started: the next run asks again.
	st, err := state.Open(tight.state)
	if err != nil {
		t.Fatal(err)
	}
	if end := st.Type("Audit.General").End; end.After(tight.clock.Now().Add(-22*time.Hour + time.Minute)) {
		t.Errorf("saved end %s moved past content that was never listed", end)
	}
}

// TestListingEntriesAsTheLiveServiceWritesThem: contentIds in every shape seen, expirations
// 7, 14 and 21 days out, and the content type spelled Audit.Sharepoint in the listing and in
// the config (the old tool's template): the file is named as configured, every line says
// Audit.SharePoint, and a second run over the same period writes nothing again.
func TestListingEntriesAsTheLiveServiceWritesThem(t *testing.T) {
	h := newHarness(t, setup{emu: emulator.Config{LiveQuirks: true, Seed: 35}, types: []string{"Audit.Sharepoint"}})
	now := h.clock.Now().UTC()
	ids := []struct {
		id     string
		listed time.Duration
	}{
		{"20201212000045238027763$20201212002126942044256$audit_sharepoint$Audit_SharePoint$na0017", 14 * 24 * time.Hour},
		{"20191120151429657218680$20191120152254760025243$audit_sharepoint$Audit_SharePoint$emea0039$emea0039", 7 * 24 * time.Hour},
		{"20180321173155808044366$20180321173155808044366$audit_sharepoint$Audit_SharePoint$IsFromNotification", 7 * 24 * time.Hour},
		{"20171014180051748005825$20171014180051748005825$audit_sharepoint$Audit_SharePoint", 21*24*time.Hour - 61*time.Minute},
		{"492638008028$492638008028$f28ab78ad40140608012736e373933ebspo2015043022$4a81a7c326fc4aed89c62e6039ab833b$04", 0},
	}
	want := map[string]emulator.Blob{}
	listedAfter := map[string]time.Duration{}
	for i, c := range ids {
		listedAfter[c.id] = c.listed
		if c.listed == 0 {
			listedAfter[c.id] = 14 * 24 * time.Hour // LiveQuirks' default
		}
		b := h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.SharePoint", Created: now.Add(-time.Duration(i+1) * time.Hour),
			Records: 3, ContentID: c.id, Listed: c.listed})
		want[b.ContentID] = b
	}
	h.mustRun(0)
	h.clock.Advance(time.Minute)
	h.mustRun(0) // the overlap lists every blob again: none may be written twice

	entries, err := os.ReadDir(h.out)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "Audit.Sharepoint.log" {
		t.Errorf("output files %v, want exactly Audit.Sharepoint.log as configured", entries)
	}
	lines := h.lines("Audit.Sharepoint")
	count := map[string]int{}
	for i, rec := range lines {
		id, _ := rec["contentId"].(string)
		b, ok := want[id]
		if !ok {
			t.Fatalf("line %d: contentId %q is none of the listed ones", i+1, id)
		}
		count[rec["Id"].(string)]++
		listed := b.Created.Add(listedAfter[id])
		if rec["contentType"] != "Audit.SharePoint" || rec["contentUri"] != b.ContentURI ||
			rec["contentCreated"] != b.Created.Format("2006-01-02T15:04:05.000Z") ||
			rec["contentExpiration"] != listed.Format("2006-01-02T15:04:05.000Z") {
			t.Errorf("line %d metadata: %v %v %v %v, want Audit.SharePoint, the listed uri, times and expiration %s",
				i+1, rec["contentType"], rec["contentUri"], rec["contentCreated"], rec["contentExpiration"], listed.Format(time.RFC3339))
		}
	}
	for _, b := range want {
		for _, id := range b.RecordIDs {
			if count[id] != 1 {
				t.Errorf("record %s of %s written %d times, want once", id, b.ContentID, count[id])
			}
		}
	}
	if len(lines) != 3*len(ids) {
		t.Errorf("%d lines, want %d", len(lines), 3*len(ids))
	}
}

// An earlier version wrote the canonical name: the run says where the records go now.
func TestOutputNamedAsConfiguredWarnsOfTheOldFile(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Sharepoint"}})
	if err := os.MkdirAll(h.out, 0o750); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(h.out, "Audit.SharePoint.log"), "")
	if _, err := os.Stat(filepath.Join(h.out, "Audit.Sharepoint.log")); err == nil {
		t.Skip("this file system ignores case: both names are one file")
	}
	h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.SharePoint", Created: h.clock.Now().Add(-time.Hour), Records: 2})
	_, stderr := h.mustRun(0)
	if !strings.Contains(stderr, "Audit.SharePoint records are written to Audit.Sharepoint.log") {
		t.Errorf("no warning of the renamed output:\n%s", stderr)
	}
	if got := len(h.lines("Audit.Sharepoint")); got != 2 {
		t.Errorf("%d lines in Audit.Sharepoint.log, want 2", got)
	}
}
