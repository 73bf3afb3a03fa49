package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/cli"
	"github.com/o365logfetch/o365logfetch/internal/emulator"
)

// Three cron runs with new, late-listed and re-delivered content in between: every record
// lands exactly once.
func TestCronRunsCatchLateContentAndDropDuplicates(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange", "Audit.SharePoint"}})
	t0 := h.clock.Now()
	first := h.srv.Generate("Audit.Exchange", t0.Add(-2*time.Hour), t0.Add(-time.Minute), 10*time.Minute, 4)
	h.srv.Generate("Audit.SharePoint", t0.Add(-2*time.Hour), t0.Add(-time.Minute), 30*time.Minute, 4)
	// Available 5 minutes ago, but listable only 3 minutes from now: run 1 cannot see it.
	late := h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.Exchange", Created: t0.Add(-5 * time.Minute),
		VisibleAfter: 8 * time.Minute, Records: 3})
	h.mustRun(0)

	h.clock.Advance(4 * time.Minute)
	// Microsoft delivers some records again in a new blob, by design.
	again := h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.Exchange", Created: h.clock.Now().Add(-time.Minute),
		Records: 2, RepeatIDs: []string{first[0].RecordIDs[0], first[3].RecordIDs[1], late.RecordIDs[0]}})
	h.mustRun(0)
	if !containsID(h.lines("Audit.Exchange"), late.RecordIDs[2]) {
		t.Fatalf("the late-listed blob %s was not fetched by the second run", late.ContentID)
	}

	h.clock.Advance(3 * time.Minute)
	h.srv.Generate("Audit.SharePoint", h.clock.Now().Add(-2*time.Minute), h.clock.Now().Add(-time.Minute), 20*time.Second, 2)
	h.mustRun(0)
	for _, ct := range []string{"Audit.Exchange", "Audit.SharePoint"} {
		h.exactlyOnce(ct)
	}
	_ = again
}

// 15 % of API requests fail transiently, in every way the API fails, and 15 % of token
// requests: all records arrive, once. (A token request gives up after 5 tries, so a higher
// token fault rate would make the test fail now and then by design.)
func TestTransientFaultsLoseNothing(t *testing.T) {
	h := newHarness(t, setup{emu: emulator.Config{Seed: 7}, types: []string{"Audit.Exchange", "Audit.General", "DLP.All"}})
	now := h.clock.Now()
	for _, ct := range []string{"Audit.Exchange", "Audit.General", "DLP.All"} {
		h.srv.Generate(ct, now.Add(-3*time.Hour), now.Add(-time.Minute), 10*time.Minute, 6)
	}
	h.srv.SetFaults(emulator.Faults{ServerError: 0.03, HTMLError: 0.03, Throttle429: 0.03, Throttle403: 0.03, Drop: 0.03, TokenError: 0.15})
	_, stderr := h.mustRun(0)
	for _, ct := range []string{"Audit.Exchange", "Audit.General", "DLP.All"} {
		h.exactlyOnce(ct)
	}
	if h.srv.Stats().Faults+h.srv.Stats().Throttled == 0 {
		t.Fatal("no fault was injected: the test proves nothing")
	}
	if !strings.Contains(stderr, "retrying") {
		t.Errorf("retries are not visible on stderr:\n%s", stderr)
	}
}

// One blob fails whatever we do: exit 1 naming it, other types complete; once it works again,
// the next run writes its records, and nothing twice.
func TestFailingBlobStaysPendingUntilItWorks(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange", "Audit.SharePoint"}})
	now := h.clock.Now()
	ex := h.srv.Generate("Audit.Exchange", now.Add(-2*time.Hour), now.Add(-time.Minute), 15*time.Minute, 3)
	h.srv.Generate("Audit.SharePoint", now.Add(-2*time.Hour), now.Add(-time.Minute), 15*time.Minute, 3)
	bad := ex[2]
	h.srv.FailBlob(bad.ContentID, 503)
	_, stderr := h.mustRun(1)
	if !strings.Contains(stderr, bad.ContentID) {
		t.Errorf("stderr does not name the failing blob %s:\n%s", bad.ContentID, stderr)
	}
	h.exactlyOnce("Audit.SharePoint")
	if containsID(h.lines("Audit.Exchange"), bad.RecordIDs[0]) {
		t.Fatal("records of the failing blob were written")
	}

	h.srv.FailBlob(bad.ContentID, 0)
	h.clock.Advance(time.Minute)
	h.mustRun(0)
	h.exactlyOnce("Audit.Exchange")
	h.exactlyOnce("Audit.SharePoint")
}

// Tokens refused mid-run (expired on the server's side): the run renews and completes.
func TestTokensExpiringDuringARun(t *testing.T) {
	h := newHarness(t, setup{emu: emulator.Config{ServerTokenLifetime: 2500 * time.Millisecond}, types: []string{"Audit.Exchange"}})
	now := h.clock.Now()
	h.srv.Generate("Audit.Exchange", now.Add(-10*time.Hour), now.Add(-time.Minute), 5*time.Minute, 2)
	h.srv.SetFaults(emulator.Faults{Latency: 50 * time.Millisecond})
	h.mustRun(0)
	h.exactlyOnce("Audit.Exchange")
	if got := h.srv.Stats().TokensIssued; got < 2 {
		t.Errorf("tokens issued = %d: the run never had to renew, the test proves nothing", got)
	}
}

// Two runs at once: the second exits 4 at once and the first one's data is intact.
func TestOverlappingRunsOneExitsFour(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	now := h.clock.Now()
	h.srv.Generate("Audit.Exchange", now.Add(-4*time.Hour), now.Add(-time.Minute), 5*time.Minute, 2)
	h.srv.SetFaults(emulator.Faults{Latency: 30 * time.Millisecond})
	var wg sync.WaitGroup
	var code1 int
	var stderr1 string
	wg.Go(func() { code1, _, stderr1 = h.run() })
	waitFor(t, func() bool { return h.srv.Stats().BlobDownloads > 0 })
	start := time.Now()
	code2, _, stderr2 := h.run()
	if code2 != 4 {
		t.Errorf("second run: exit %d, want 4\n%s", code2, stderr2)
	}
	if !strings.Contains(stderr2, "pid") && !strings.Contains(stderr2, "lock") {
		t.Errorf("second run does not name the lock holder:\n%s", stderr2)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("second run waited %v for the lock, want at once", time.Since(start))
	}
	wg.Wait()
	if code1 != 0 {
		t.Fatalf("first run: exit %d\n%s", code1, stderr1)
	}
	h.exactlyOnce("Audit.Exchange")
}

// kill -9 at random moments of a slow run, several times, then a clean run: no record lost,
// none twice, no partial line.
func TestKillNineAnywhereLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	h := newHarness(t, setup{emu: emulator.Config{Seed: 3}, types: []string{"Audit.Exchange", "Audit.AzureActiveDirectory"}})
	now := time.Now()
	h.srv.Generate("Audit.Exchange", now.Add(-6*time.Hour), now.Add(-time.Minute), 4*time.Minute, 5)
	h.srv.Generate("Audit.AzureActiveDirectory", now.Add(-6*time.Hour), now.Add(-time.Minute), 6*time.Minute, 8)
	h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.Exchange", Created: now.Add(-3 * time.Hour), Records: 3000})
	h.srv.SetFaults(emulator.Faults{Latency: 15 * time.Millisecond})
	ca := h.caFile()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	killed := 0
	for i := range 5 {
		cmd := exec.Command(bin, "--config", h.cfg)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "SSL_CERT_FILE=" + ca}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(100+rng.IntN(900)) * time.Millisecond
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			t.Logf("run %d finished before the kill (%v): %s", i, err, stderr.String())
		case <-time.After(delay):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
			killed++
		}
	}
	if killed == 0 {
		t.Fatal("no run was killed: the test proves nothing")
	}
	cmd := exec.CommandContext(context.Background(), bin, "--config", h.cfg)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "SSL_CERT_FILE=" + ca}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) || err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	h.exactlyOnce("Audit.Exchange")
	h.exactlyOnce("Audit.AzureActiveDirectory")
}

func TestMain(m *testing.M) {
	// What the previous tool's time.log means depends on the local zone; the tests must not
	// depend on the machine's.
	time.Local = time.UTC
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Progress older than the 7-day edge: the unreachable period is reported with its exact range,
// the run fetches what can still be had and exits 1.
func TestProgressPastSevenDaysIsReportedLost(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	now := h.clock.Now()
	h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.Exchange", Created: now.Add(-6 * 24 * time.Hour), Records: 2})
	if err := os.MkdirAll(h.state, 0o700); err != nil {
		t.Fatal(err)
	}
	stale := now.Add(-8 * 24 * time.Hour).UTC().Truncate(time.Second)
	writeFile(t, filepath.Join(h.state, "time.log"), itoa(stale.Unix()))
	_, stderr := h.mustRun(1)
	if !strings.Contains(stderr, stale.Format(time.RFC3339)) || !strings.Contains(stderr, "can no longer be fetched") {
		t.Errorf("stderr does not name the lost period from %s:\n%s", stale.Format(time.RFC3339), stderr)
	}
	h.exactlyOnce("Audit.Exchange")
}

// A blob left pending by an earlier run that expired since: reported lost by contentId and
// dropped from the pending list, so the next run is clean.
func TestExpiredPendingBlobIsReportedOnce(t *testing.T) {
	h := newHarness(t, setup{types: []string{"DLP.All"}})
	now := h.clock.Now().UTC()
	if err := os.MkdirAll(h.state, 0o700); err != nil {
		t.Fatal(err)
	}
	id := "20261119080000123$gone$dlp_all$DLP_All$emea0013"
	writeFile(t, filepath.Join(h.state, "o365logfetch-state.json"), `{"version":1,"types":{"DLP.All":{
		"end":"`+now.Add(-time.Hour).Format(time.RFC3339)+`",
		"pending":{"`+id+`":{"contentUri":"`+h.srv.APIRoot()+`/audit/`+id+`",
		"contentCreated":"`+now.Add(-7*24*time.Hour-time.Hour).Format("2006-01-02T15:04:05.000Z")+`",
		"contentExpiration":"`+now.Add(-time.Hour).Format("2006-01-02T15:04:05.000Z")+`",
		"error":"HTTP 503","attempts":5,"firstFailure":"`+now.Add(-7*24*time.Hour).Format(time.RFC3339)+`"}}}}}`)
	_, stderr := h.mustRun(1)
	if !strings.Contains(stderr, id) || !strings.Contains(stderr, "lost") {
		t.Errorf("stderr does not report the expired blob %s:\n%s", id, stderr)
	}
	h.clock.Advance(time.Minute)
	h.mustRun(0)
}

// A local clock far from the API's is said on stderr: windows near the 7-day edge and signed
// assertions depend on it.
func TestClockSkewIsReported(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}, skew: -20 * time.Minute})
	h.srv.Generate("Audit.Exchange", h.clock.Now().Add(-2*time.Hour), h.clock.Now().Add(-time.Hour), 20*time.Minute, 1)
	_, stderr := h.mustRun(0)
	if !strings.Contains(stderr, "clock") || !(strings.Contains(stderr, "skew=20m") || strings.Contains(stderr, "skew=19m5")) {
		t.Errorf("stderr does not report the 20-minute skew:\n%s", stderr)
	}
	h.exactlyOnce("Audit.Exchange")
}

// A record beyond maxRecordBytes fails its blob (kept pending, named on stderr); the others
// of the type arrive.
func TestHugeRecordFailsOnlyItsBlob(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.General"}, fetch: "maxRecordBytes = 65536"})
	now := h.clock.Now()
	ok := h.srv.Generate("Audit.General", now.Add(-2*time.Hour), now.Add(-time.Hour), 20*time.Minute, 3)
	huge := h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.General", Created: now.Add(-30 * time.Minute), Records: 2, RecordBytes: 300 << 10})
	_, stderr := h.mustRun(1)
	if !strings.Contains(stderr, huge.ContentID) || !strings.Contains(stderr, "maxRecordBytes") {
		t.Errorf("stderr does not name the blob and the limit:\n%s", stderr)
	}
	recs := h.lines("Audit.General")
	if len(recs) != 3*len(ok) || containsID(recs, huge.RecordIDs[0]) {
		t.Errorf("lines = %d, want %d without the huge blob's records", len(recs), 3*len(ok))
	}
}

// A blob that keeps failing holds its type's end back for a day at most; after that it stays
// pending by id while the end moves on.
func TestLongFailingBlobStopsHoldingTheEnd(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	now := h.clock.Now()
	blobs := h.srv.Generate("Audit.Exchange", now.Add(-3*time.Hour), now.Add(-time.Minute), time.Hour, 2)
	bad := blobs[0]
	h.srv.FailBlob(bad.ContentID, 503)
	h.mustRun(1)
	statePath := filepath.Join(h.state, "o365logfetch-state.json")
	end := func() time.Time {
		var st struct {
			Types map[string]struct {
				End     time.Time                  `json:"end"`
				Pending map[string]json.RawMessage `json:"pending"`
			} `json:"types"`
		}
		data, err := os.ReadFile(statePath)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &st); err != nil {
			t.Fatal(err)
		}
		if _, ok := st.Types["Audit.Exchange"].Pending[bad.ContentID]; !ok {
			t.Fatalf("blob %s is not pending:\n%s", bad.ContentID, data)
		}
		return st.Types["Audit.Exchange"].End
	}
	if e := end(); e.After(bad.Created) {
		t.Fatalf("end %s passed the failed blob created %s", e, bad.Created)
	}
	// Two days of failures later (as the state tells it), the end moves on.
	data, _ := os.ReadFile(statePath)
	old := now.Add(-48 * time.Hour).UTC().Format(time.RFC3339)
	data = []byte(regexp.MustCompile(`"firstFailure": *"[^"]*"`).ReplaceAllString(string(data), `"firstFailure":"`+old+`"`))
	writeFile(t, statePath, string(data))
	h.clock.Advance(time.Minute)
	h.mustRun(1)
	if e := end(); e.Before(now) {
		t.Errorf("end %s still held back by a blob failing for two days", e)
	}
}

// SIGTERM (systemd stopping the unit, Ctrl-C) ends a run promptly with exit 1, keeping what
// was written; the next run completes without losing or repeating a record.
func TestSIGTERMStopsPromptlyAndKeepsProgress(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	now := time.Now()
	h.srv.Generate("Audit.Exchange", now.Add(-10*time.Hour), now.Add(-time.Minute), 3*time.Minute, 3)
	h.srv.SetFaults(emulator.Faults{Latency: 40 * time.Millisecond})
	code, stopped, stderr := h.interruptBinary(bin, 5, syscall.SIGTERM, "--config", h.cfg)
	if code != 1 {
		t.Fatalf("after SIGTERM: exit %d, want 1\n%s", code, stderr.String())
	}
	if d := time.Since(stopped); d > 10*time.Second {
		t.Errorf("the run took %v to stop", d)
	}
	if !strings.Contains(stderr.String(), "stopped by a signal") || !strings.Contains(stderr.String(), "the next run continues") {
		t.Errorf("stderr does not say the run was stopped and how it continues:\n%s", stderr.String())
	}
	if h.srv.Stats().BlobDownloads >= len(h.srv.Blobs("Audit.Exchange")) {
		t.Fatal("the run finished before the signal: the test proves nothing")
	}
	h.srv.SetFaults(emulator.Faults{})
	h.mustRun(0)
	h.exactlyOnce("Audit.Exchange")
}

// The blob ledger alone (record dedup off) keeps a re-listed blob from being written again, and
// a ledger left in the state file by an earlier build is taken over.
func TestBlobLedgerWithoutRecordDedup(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}, fetch: "recordDedupHorizon = 0"})
	now := h.clock.Now()
	blobs := h.srv.Generate("Audit.Exchange", now.Add(-50*time.Minute), now.Add(-time.Minute), 10*time.Minute, 2)
	// An earlier build recorded the first blob in the state file's ledger.
	if err := os.MkdirAll(h.state, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(h.state, "o365logfetch-state.json"), `{"version":1,"types":{"Audit.Exchange":{
		"end":"`+now.Add(-2*time.Hour).UTC().Format(time.RFC3339)+`",
		"known":{"`+blobs[0].ContentID+`":"`+blobs[0].Expiration.Format(time.RFC3339)+`"}}}}`)
	h.mustRun(0)
	if containsID(h.lines("Audit.Exchange"), blobs[0].RecordIDs[0]) {
		t.Fatal("a blob in the state file's ledger was fetched again")
	}
	if got := len(h.lines("Audit.Exchange")); got != 2*(len(blobs)-1) {
		t.Fatalf("lines = %d, want %d", got, 2*(len(blobs)-1))
	}
	// The next run lists the overlap again: every blob is known, nothing is written twice.
	h.clock.Advance(time.Minute)
	stdout, _ := h.mustRun(0, "--summary", "json")
	if got := len(h.lines("Audit.Exchange")); got != 2*(len(blobs)-1) {
		t.Errorf("lines after the second run = %d, want %d", got, 2*(len(blobs)-1))
	}
	if !strings.Contains(stdout, `"blobs_known":`+strconv.Itoa(len(blobs))) {
		t.Errorf("second run does not count %d known blobs: %s", len(blobs), stdout)
	}
	data, _ := os.ReadFile(filepath.Join(h.state, "o365logfetch-state.json"))
	if strings.Contains(string(data), `"known"`) {
		t.Errorf("the state file still carries the ledger:\n%s", data)
	}
}

// SIGINT (Ctrl-C) during a long backfill ends it within seconds, says how to continue, and
// running the same backfill again completes it without losing or repeating a record.
func TestSIGINTStopsALongBackfill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	h := newHarness(t, setup{types: []string{"Audit.Exchange", "Audit.SharePoint"}})
	now := time.Now()
	start := now.Add(-4 * 24 * time.Hour).UTC().Truncate(time.Second)
	for _, ct := range []string{"Audit.Exchange", "Audit.SharePoint"} {
		h.srv.Generate(ct, start.Add(time.Minute), now.Add(-time.Minute), 20*time.Minute, 3)
	}
	h.srv.SetFaults(emulator.Faults{Latency: 40 * time.Millisecond})
	args := []string{"--config", h.cfg, "--start", start.Format(time.RFC3339), "--end", now.UTC().Truncate(time.Second).Format(time.RFC3339)}
	code, stopped, stderr := h.interruptBinary(bin, 20, os.Interrupt, args...)
	if code != cli.ExitIncomplete {
		t.Fatalf("after SIGINT: exit %d, want 1\n%s", code, stderr.String())
	}
	if d := time.Since(stopped); d > 5*time.Second {
		t.Errorf("the backfill took %v to stop", d)
	}
	total := len(h.srv.Blobs("Audit.Exchange")) + len(h.srv.Blobs("Audit.SharePoint"))
	if h.srv.Stats().BlobDownloads >= total {
		t.Fatal("the backfill finished before the signal: the test proves nothing")
	}
	if !strings.Contains(stderr.String(), "run the same backfill again (--start "+args[3]) {
		t.Errorf("stderr does not say how to continue:\n%s", stderr.String())
	}
	if n := strings.Count(stderr.String(), "\n"); n > 20 {
		t.Errorf("stderr has %d lines after a stop:\n%s", n, stderr.String())
	}
	h.srv.SetFaults(emulator.Faults{})
	h.mustRun(0, args[2:]...)
	h.exactlyOnce("Audit.Exchange")
	h.exactlyOnce("Audit.SharePoint")
}
