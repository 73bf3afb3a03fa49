package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/layout"

	"github.com/o365logfetch/o365logfetch/internal/dedup"
	"github.com/o365logfetch/o365logfetch/internal/emulator"
	"github.com/o365logfetch/o365logfetch/internal/state"
)

// auditReport is the part of audit --summary json the tests read.
type auditReport struct {
	Complete bool `json:"complete"`
	Total    struct {
		Listed, Written, Pending, Missing, Lost, Ahead, LinesAbsent int
	} `json:"total"`
	Types []struct {
		ContentType string `json:"contentType"`
		Missing     int    `json:"missing"`
		Gaps        []struct {
			Start, End time.Time
			Blobs      int
			IDs        []string `json:"contentIds"`
		} `json:"gaps"`
		Output *struct {
			Checked, NotChecked []string
			Absent              []struct {
				Start, End time.Time
				Blobs      int
				IDs        []string `json:"contentIds"`
			}
			Unverified int
		} `json:"output"`
	} `json:"types"`
	Repaired []struct {
		ContentType string
		Blobs       int
	} `json:"repaired"`
}

func (h *harness) audit(want int, args ...string) auditReport {
	h.t.Helper()
	stdout, _ := h.mustRun(want, append([]string{"audit", "--summary", "json", "-v"}, args...)...)
	var r auditReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		h.t.Fatalf("audit --summary json: %v\n%s", err, stdout)
	}
	return r
}

// forgetBlobs takes blobs out of the ledger, as a damaged or restored state directory would.
func (h *harness) forgetBlobs(ids ...string) {
	h.t.Helper()
	path := filepath.Join(h.state, layout.BlobLedger)
	data, err := os.ReadFile(path)
	if err != nil {
		h.t.Fatal(err)
	}
	drop := map[dedup.Key]bool{}
	for _, id := range ids {
		drop[dedup.KeyOf(id)] = true
	}
	const head, entry = 8, 20
	out := append([]byte(nil), data[:head]...)
	n := 0
	for i := head; i+entry <= len(data); i += entry {
		var k dedup.Key
		copy(k[:], data[i:i+16])
		if drop[k] {
			n++
			continue
		}
		out = append(out, data[i:i+entry]...)
	}
	if n != len(ids) {
		h.t.Fatalf("%d of %d blobs found in the ledger", n, len(ids))
	}
	writeFile(h.t, path, string(out))
}

func hourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

func TestAuditCompleteThenForgottenBlobsAreMissingAndRepaired(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange", "Audit.SharePoint"}})
	now := h.clock.Now()
	blobs := h.srv.Generate("Audit.Exchange", now.Add(-20*time.Hour), now.Add(-time.Minute), 20*time.Minute, 3)
	h.srv.Generate("Audit.SharePoint", now.Add(-20*time.Hour), now.Add(-time.Minute), time.Hour, 2)
	h.mustRun(0)

	r := h.audit(0, "--since", "2d")
	if !r.Complete || r.Total.Missing != 0 || r.Total.Written != len(blobs)+20 {
		t.Fatalf("complete period: %+v", r.Total)
	}
	text, _ := h.mustRun(0, "audit", "--since", "2d")
	if !strings.Contains(text, "Result: nothing missing") ||
		!strings.Contains(text, fmt.Sprintf("Audit.Exchange: %d blobs listed: %d written, 0 pending, 0 missing", len(blobs), len(blobs))) {
		t.Errorf("text report:\n%s", text)
	}

	// Two blobs of one hour and one of another taken out of the ledger.
	a, b, c := blobs[10], blobs[11], blobs[30]
	h.forgetBlobs(a.ContentID, b.ContentID, c.ContentID)
	r = h.audit(1, "--since", "2d")
	if r.Complete || r.Total.Missing != 3 || r.Types[0].Missing != 3 || r.Types[1].Missing != 0 {
		t.Fatalf("forgotten blobs: %+v", r)
	}
	// The report groups missing blobs by hour and joins adjacent hours into one period: the
	// expected periods, built the same way from the forgotten blobs' hours.
	perHour := map[time.Time]int{}
	for _, x := range []emulator.Blob{a, b, c} {
		perHour[hourOf(x.Created)]++
	}
	hours := slices.SortedFunc(maps.Keys(perHour), time.Time.Compare)
	type period struct {
		start, end time.Time
		blobs      int
	}
	var want []period
	for _, hr := range hours {
		if n := len(want); n > 0 && want[n-1].end.Equal(hr) {
			want[n-1].end, want[n-1].blobs = hr.Add(time.Hour), want[n-1].blobs+perHour[hr]
			continue
		}
		want = append(want, period{hr, hr.Add(time.Hour), perHour[hr]})
	}
	var got []period
	for _, g := range r.Types[0].Gaps {
		got = append(got, period{g.Start, g.End, g.Blobs})
		for _, id := range g.IDs {
			if id != a.ContentID && id != b.ContentID && id != c.ContentID {
				t.Errorf("gap names %s, not a forgotten blob", id)
			}
		}
	}
	if !slices.EqualFunc(got, want, func(x, y period) bool {
		return x.start.Equal(y.start) && x.end.Equal(y.end) && x.blobs == y.blobs
	}) {
		t.Errorf("gaps %+v, want %+v", got, want)
	}
	text, _ = h.mustRun(1, "audit", "--since", "2d", "Audit.Exchange")
	line := fmt.Sprintf("Audit.Exchange %s %s–", hourOf(c.Created).Format("2006-01-02"), hourOf(c.Created).Format("15:04"))
	if !strings.Contains(text, line) || strings.Contains(text, c.ContentID) || !strings.Contains(text, "Result: GAPS FOUND") {
		t.Errorf("text report lacks %q (or names ids without -v):\n%s", line, text)
	}
	before := h.srv.Stats().BlobDownloads

	// The repair fetches the three blobs and no other; their records are in the file already,
	// so the record index keeps every record once.
	r = h.audit(0, "--since", "2d", "--repair")
	if !r.Complete || r.Total.Missing != 0 || len(r.Repaired) != 1 || r.Repaired[0].Blobs != 3 {
		t.Fatalf("after --repair: %+v", r)
	}
	if n := h.srv.Stats().BlobDownloads - before; n != 3 {
		t.Errorf("repair downloaded %d blobs, want 3", n)
	}
	h.exactlyOnce("Audit.Exchange")
	h.exactlyOnce("Audit.SharePoint")
	h.audit(0, "--since", "2d")
}

// A period skipped on purpose is missing, hour by hour; the repair writes it exactly once and
// moves no cron progress.
func TestAuditFindsAPeriodNeverFetchedAndRepairsIt(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}, fetch: "initialLookback = 3h"})
	now := h.clock.Now()
	// Blobs every half hour, 7 minutes off every edge of the runs below.
	h.srv.Generate("Audit.Exchange", now.Add(-30*time.Hour+7*time.Minute), now.Add(-time.Minute), 30*time.Minute, 2)
	endAt := now.Add(-20 * time.Hour).Truncate(time.Second)
	start := now.Add(-30 * time.Hour).UTC().Format(time.RFC3339)
	end := endAt.UTC().Format(time.RFC3339)
	h.mustRun(0, "--start", start, "--end", end) // 30..20 hours ago
	h.mustRun(0)                                 // the cron run: the last 3 hours (and its overlap)
	stateBefore, err := os.ReadFile(filepath.Join(h.state, "o365logfetch-state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var endBefore struct {
		Types map[string]struct{ End time.Time }
	}
	json.Unmarshal(stateBefore, &endBefore)

	r := h.audit(1, "--since", "2d")
	var missing []emulator.Blob
	cronFrom := now.Add(-4 * time.Hour).Truncate(time.Second) // initialLookback + overlap
	for _, b := range h.srv.Blobs("Audit.Exchange") {
		if !b.Created.Before(endAt) && b.Created.Before(cronFrom) {
			missing = append(missing, b)
		}
	}
	if r.Total.Missing != len(missing) || len(r.Types[0].Gaps) != 1 {
		t.Fatalf("missing %d in %d gaps, want %d in one gap: %+v", r.Total.Missing, len(r.Types[0].Gaps), len(missing), r.Types[0].Gaps)
	}
	g := r.Types[0].Gaps[0]
	if !g.Start.Equal(hourOf(missing[0].Created)) || !g.End.Equal(hourOf(missing[len(missing)-1].Created).Add(time.Hour)) {
		t.Errorf("gap %s..%s, want %s..%s", g.Start, g.End, hourOf(missing[0].Created), hourOf(missing[len(missing)-1].Created).Add(time.Hour))
	}

	r = h.audit(0, "--since", "2d", "--repair")
	if r.Total.Missing != 0 || r.Repaired[0].Blobs != len(missing) {
		t.Fatalf("after --repair: %+v", r)
	}
	h.exactlyOnce("Audit.Exchange")
	stateAfter, _ := os.ReadFile(filepath.Join(h.state, "o365logfetch-state.json"))
	var endAfter struct {
		Types map[string]struct{ End time.Time }
	}
	json.Unmarshal(stateAfter, &endAfter)
	if !endAfter.Types["Audit.Exchange"].End.Equal(endBefore.Types["Audit.Exchange"].End) {
		t.Errorf("repair moved cron progress: %s → %s", endBefore.Types["Audit.Exchange"].End, endAfter.Types["Audit.Exchange"].End)
	}
	// A second audit, and a second repair, find nothing to do.
	before := h.srv.Stats().BlobDownloads
	h.audit(0, "--since", "2d", "--repair")
	if n := h.srv.Stats().BlobDownloads - before; n != 0 {
		t.Errorf("a repair with nothing missing downloaded %d blobs", n)
	}
	h.exactlyOnce("Audit.Exchange")
}

// Blobs that failed stay pending: the audit names them as pending, not missing, and the repair
// fetches them and clears them from the state.
func TestAuditPendingBlobsAndRepair(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	now := h.clock.Now()
	blobs := h.srv.Generate("Audit.Exchange", now.Add(-5*time.Hour), now.Add(-time.Minute), 30*time.Minute, 2)
	h.srv.FailBlob(blobs[2].ContentID, 404)
	h.mustRun(1)
	r := h.audit(0, "--since", "1d")
	if r.Total.Pending != 1 || r.Total.Missing != 0 {
		t.Fatalf("pending blob: %+v", r.Total)
	}
	h.srv.FailBlob(blobs[2].ContentID, 0)
	r = h.audit(0, "--since", "1d", "--repair")
	if r.Total.Pending != 0 || r.Repaired[0].Blobs != 1 {
		t.Fatalf("after --repair: %+v", r)
	}
	saved, _ := os.ReadFile(filepath.Join(h.state, "o365logfetch-state.json"))
	if bytes.Contains(saved, []byte(blobs[2].ContentID)) {
		t.Errorf("the repaired blob is still pending in the state:\n%s", saved)
	}
	h.exactlyOnce("Audit.Exchange")
}

// --scan-output finds a blob whose lines were removed by hand; an empty blob and a blob whose
// records were all written before under other blobs have no lines of their own and are no gap;
// a rotated file it cannot read is named, not counted as a gap.
func TestAuditScanOutput(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	now := h.clock.Now()
	blobs := h.srv.Generate("Audit.Exchange", now.Add(-5*time.Hour), now.Add(-2*time.Hour), 30*time.Minute, 3)
	h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.Exchange", Created: now.Add(-90 * time.Minute), Records: 0})
	h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.Exchange", Created: now.Add(-80 * time.Minute), RepeatIDs: blobs[0].RecordIDs})
	h.mustRun(0)
	r := h.audit(0, "--since", "1d", "--scan-output")
	if o := r.Types[0].Output; o == nil || len(o.Checked) != 1 || len(o.Absent) != 0 {
		t.Fatalf("whole output: %+v", o)
	}

	// Take out the lines of one blob.
	victim := blobs[3]
	path := filepath.Join(h.out, "Audit.Exchange.log")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	removed := 0
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if strings.Contains(l, `"contentId":"`+victim.ContentID+`"`) {
			removed++
			continue
		}
		kept = append(kept, l)
	}
	if removed != 3 {
		t.Fatalf("removed %d lines, want 3", removed)
	}
	writeFile(t, path, strings.Join(kept, ""))
	r = h.audit(1, "--since", "1d", "--scan-output")
	o := r.Types[0].Output
	if r.Total.Missing != 0 || r.Total.LinesAbsent != 1 || len(o.Absent) != 1 || o.Absent[0].IDs[0] != victim.ContentID ||
		!o.Absent[0].Start.Equal(hourOf(victim.Created)) {
		t.Fatalf("lines removed: %+v %+v", r.Total, o)
	}
	// Still found in a rotated file that is plain text...
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	r = h.audit(1, "--since", "1d", "--scan-output")
	if o := r.Types[0].Output; len(o.Checked) != 1 || len(o.Absent) != 1 {
		t.Fatalf("rotated to .1: %+v", o)
	}
	// ...but a rotated file in a form it cannot read is named as not checked, not as a gap.
	if err := os.Rename(path+".1", path+".1.bz2"); err != nil {
		t.Fatal(err)
	}
	r = h.audit(0, "--since", "1d", "--scan-output")
	if o := r.Types[0].Output; len(o.Absent) != 0 || o.Unverified == 0 || len(o.NotChecked) == 0 {
		t.Fatalf("rotated to .bz2: %+v", o)
	}
}

// The audit takes no lock and runs beside cron runs: it never waits, never fails and never
// reports as missing a blob that the run beside it is writing.
func TestAuditBesideACronRun(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	now := h.clock.Now()
	h.srv.Generate("Audit.Exchange", now.Add(-10*time.Hour), now.Add(-time.Minute), 10*time.Minute, 2)
	h.mustRun(0)
	for i := range 3 {
		h.clock.Advance(90 * time.Second)
		t0 := h.clock.Now()
		h.srv.Generate("Audit.Exchange", t0.Add(-90*time.Second), t0, 10*time.Second, 2)
		var wg sync.WaitGroup
		var cronCode int
		var cronErr string
		wg.Go(func() { cronCode, _, cronErr = h.run() })
		for range 3 {
			code, out, errOut := h.run("audit", "--since", "1d", "--summary", "json")
			if code != 0 {
				t.Errorf("round %d: audit beside a cron run exited %d\n%s\n%s", i, code, out, errOut)
			}
		}
		wg.Wait()
		if cronCode != 0 {
			t.Fatalf("round %d: cron run exited %d: %s", i, cronCode, cronErr)
		}
	}
	r := h.audit(0, "--since", "1d")
	if r.Total.Ahead != 0 || r.Total.Missing != 0 {
		t.Errorf("after the runs: %+v", r.Total)
	}
	h.exactlyOnce("Audit.Exchange")
}

// Types spelled the old way: the file is named as the config spells the type, the API is asked
// with the canonical name, and a type named on the command line may be spelled either way.
func TestAuditOldTypeSpellingsAndMetrics(t *testing.T) {
	h := newHarness(t, setup{types: []string{"audit.exchange"}})
	now := h.clock.Now()
	h.srv.Generate("Audit.Exchange", now.Add(-3*time.Hour), now.Add(-time.Minute), 20*time.Minute, 2)
	h.mustRun(0)
	if _, err := os.Stat(filepath.Join(h.out, "audit.exchange.log")); err != nil {
		t.Fatal(err)
	}
	metrics := filepath.Join(h.dir, "audit.prom")
	r := h.audit(0, "--since", "1d", "--scan-output", "--metrics-file", metrics, "AUDIT.EXCHANGE")
	if len(r.Types) != 1 || r.Types[0].ContentType != "Audit.Exchange" || r.Total.Written != 9 ||
		r.Types[0].Output == nil || len(r.Types[0].Output.Checked) != 1 || r.Types[0].Output.Checked[0] != "audit.exchange.log" {
		t.Fatalf("old spelling: %+v", r)
	}
	data, err := os.ReadFile(metrics)
	if err != nil || !strings.Contains(string(data), `o365logfetch_audit_missing_blobs{content_type="Audit.Exchange"} 0`) {
		t.Errorf("metrics file (%v):\n%s", err, data)
	}
	h.mustRun(2, "audit", "Audit.Nothing")
}

func TestAuditConfigAndAuthErrors(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}, wrongKey: true})
	_, stderr := h.mustRun(3, "audit")
	if !strings.Contains(stderr, "o365logfetch:") {
		t.Errorf("stderr: %s", stderr)
	}
	writeFile(t, h.cfg, "[API_SETTINGS]\ntenant = x\n")
	h.mustRun(2, "audit")
	h.mustRun(2, "audit", "--since", "soon")
}

// The audit needs no lock: it reports while a run holds it; --repair writes, so it waits for
// nothing and says another run holds the lock (exit 4).
func TestAuditWhileLocked(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	now := h.clock.Now()
	blobs := h.srv.Generate("Audit.Exchange", now.Add(-3*time.Hour), now.Add(-time.Minute), 20*time.Minute, 2)
	h.mustRun(0)
	h.forgetBlobs(blobs[1].ContentID)
	lock, err := state.Lock(h.state)
	if err != nil {
		t.Fatal(err)
	}
	r := h.audit(1, "--since", "1d")
	if r.Total.Missing != 1 {
		t.Errorf("under a held lock: %+v", r.Total)
	}
	h.mustRun(4, "audit", "--since", "1d", "--repair")
	lock.Unlock()
	h.audit(0, "--since", "1d", "--repair")
	h.exactlyOnce("Audit.Exchange")
}
