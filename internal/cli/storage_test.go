package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/cli"
	"github.com/o365logfetch/o365logfetch/internal/emulator"
	"github.com/o365logfetch/o365logfetch/internal/localfs"
)

// storageHarness is one content type with about 300 blobs of 30 records (9,000 records, some
// 10 MB of output) and, when big is set, a few blobs large enough to be spooled on disk under
// timeKeeperLocation.
func storageHarness(t *testing.T, big bool) *harness {
	t.Helper()
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	now := h.clock.Now()
	h.srv.Generate("Audit.Exchange", now.Add(-6*time.Hour), now.Add(-time.Minute), 72*time.Second, 30)
	if big {
		for i := range 3 {
			h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.Exchange", Created: now.Add(-4*time.Hour + time.Duration(i)*time.Hour), Records: 3000})
		}
	}
	return h
}

// injectFault makes every write under dir fail with ENOSPC once trigger says so, as a full
// disk would; it is undone when the test ends.
func injectFault(t *testing.T, dir string, trigger func(path string) bool) {
	t.Helper()
	var full atomic.Bool
	localfs.Inject(func(path string) error {
		if !strings.HasPrefix(path, dir+string(filepath.Separator)) {
			return nil
		}
		if full.Load() || trigger(path) {
			full.Store(true)
			return syscall.ENOSPC
		}
		return nil
	})
	t.Cleanup(func() { localfs.Inject(nil) })
}

// afterN triggers on the nth write.
func afterN(n int64) func(string) bool {
	var writes atomic.Int64
	return func(string) bool { return writes.Add(1) > n }
}

// checkStopped checks a run stopped by a full directory: exit code 5, the cause said once
// naming the directory, stderr short, the run ended within seconds of the first failed write,
// and few blobs downloaded after it. Then, with room again, the next run delivers every record
// exactly once.
func checkStopped(t *testing.T, h *harness, fullDir string, makeRoom func()) {
	t.Helper()
	code, _, stderr := h.run()
	if code != cli.ExitStorage {
		t.Fatalf("exit code %d, want %d\nstderr:\n%s", code, cli.ExitStorage, stderr)
	}
	if n := strings.Count(stderr, "local storage fault"); n != 1 {
		t.Errorf("the cause is said %d times on stderr, want once:\n%s", n, stderr)
	}
	if !strings.Contains(stderr, "in "+fullDir+" failed") || !strings.Contains(stderr, "free there") {
		t.Errorf("stderr does not name %s and its free space:\n%s", fullDir, stderr)
	}
	if n := strings.Count(stderr, "\n"); n > 30 {
		t.Errorf("stderr has %d lines, want a short summary:\n%s", n, stderr)
	}
	written := map[string]bool{}
	for _, rec := range h.lines("Audit.Exchange") {
		written[rec["contentId"].(string)] = true
	}
	total := len(h.srv.Blobs("Audit.Exchange"))
	downloads := h.srv.Stats().BlobDownloads
	if len(written) >= total {
		t.Fatalf("all %d blobs were written: the directory never filled, the test proves nothing", total)
	}
	const workers = 4
	if extra := downloads - len(written); extra > workers+4 {
		t.Errorf("%d blobs downloaded, %d written: %d downloads after the disk filled, want at most %d", downloads, len(written), extra, workers+4)
	}
	first, finished := faultTimes(t, h)
	if d := finished.Sub(first); d > 5*time.Second {
		t.Errorf("the run ended %v after the first failed write", d)
	}
	t.Logf("%d of %d blobs written, %d downloaded; ended %v after the first failed write\nstderr:\n%s", len(written), total, downloads, finished.Sub(first), stderr)

	makeRoom()
	h.clock.Advance(time.Minute)
	h.mustRun(0)
	h.exactlyOnce("Audit.Exchange")
}

// faultTimes reads from debug.log when the first write failed and when the run finished.
func faultTimes(t *testing.T, h *harness) (first, finished time.Time) {
	t.Helper()
	f, err := os.Open(filepath.Join(h.debug, "debug.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		ts, ok := logTime(line)
		if !ok {
			continue
		}
		if first.IsZero() && strings.Contains(line, "no space left on device") {
			first = ts
		}
		if strings.Contains(line, `msg="run finished"`) {
			finished = ts
		}
	}
	if first.IsZero() || finished.IsZero() {
		t.Fatalf("debug.log lacks the failed write or the end of the run")
	}
	return first, finished
}

func logTime(line string) (time.Time, bool) {
	v, ok := strings.CutPrefix(line, "time=")
	if !ok {
		return time.Time{}, false
	}
	v, _, _ = strings.Cut(v, " ")
	ts, err := time.Parse(time.RFC3339Nano, v)
	return ts, err == nil
}

// A full output directory (writes failing at the file layer) stops the run at once.
func TestFullOutputDirStopsTheRun(t *testing.T) {
	h := storageHarness(t, false)
	injectFault(t, h.out, afterN(40))
	checkStopped(t, h, h.out, func() { localfs.Inject(nil) })
}

// A full timeKeeperLocation (the spool of a big blob, then the state, cannot be written) is as
// safe as a full output directory.
func TestFullStateDirStopsTheRun(t *testing.T) {
	h := storageHarness(t, true)
	injectFault(t, h.state, func(path string) bool { return strings.Contains(path, "spool") })
	checkStopped(t, h, h.state, func() { localfs.Inject(nil) })
}

// A state file that cannot be saved at the end of a run (the record index and the blob ledger
// are written, the state is not): exit code 5, the saved progress stays where it was, and the
// next run writes nothing twice.
func TestStateThatCannotBeSavedKeepsProgressBack(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	now := h.clock.Now()
	h.srv.Generate("Audit.Exchange", now.Add(-3*time.Hour), now.Add(-time.Minute), 10*time.Minute, 5)
	h.mustRun(0)
	before := h.saved("Audit.Exchange")
	h.clock.Advance(3 * time.Minute)
	h.srv.Generate("Audit.Exchange", now.Add(30*time.Second), now.Add(2*time.Minute), 20*time.Second, 5)
	// The save at the start of the run goes through, the one at its end does not.
	var saves atomic.Int64
	injectFault(t, h.state, func(path string) bool {
		return strings.HasSuffix(path, "o365logfetch-state.json") && saves.Add(1) > 1
	})
	code, _, stderr := h.run()
	if code != cli.ExitStorage || strings.Count(stderr, "local storage fault") != 1 || !strings.Contains(stderr, "state file") {
		t.Fatalf("exit code %d, want %d with the cause once:\n%s", code, cli.ExitStorage, stderr)
	}
	localfs.Inject(nil)
	if after := h.saved("Audit.Exchange"); !after.End.Equal(before.End) {
		t.Errorf("saved end moved from %s to %s although the state could not be saved", before.End, after.End)
	}
	h.clock.Advance(time.Minute)
	h.mustRun(0)
	h.exactlyOnce("Audit.Exchange")
}

// 300 failing blobs: stderr carries one line per cause with a count and a few content ids,
// debug.log names every blob, and --summary json keeps a short list with the full count.
func TestManyFailingBlobsDoNotFloodStderr(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	now := h.clock.Now()
	blobs := h.srv.Generate("Audit.Exchange", now.Add(-6*time.Hour), now.Add(-time.Minute), 72*time.Second, 1)
	if len(blobs) < 300 {
		t.Fatalf("%d blobs, want 300", len(blobs))
	}
	for _, b := range blobs {
		h.srv.FailBlob(b.ContentID, 400)
	}
	code, stdout, stderr := h.runWith(nil, "--summary", "json") // quick retries: each blob fails for good
	if code != cli.ExitIncomplete {
		t.Fatalf("exit code %d, want %d\n%s", code, cli.ExitIncomplete, stderr)
	}
	if n := strings.Count(stderr, "\n"); n > 30 {
		t.Errorf("stderr has %d lines for %d failing blobs, want a short summary:\n%s", n, len(blobs), stderr)
	}
	if !strings.Contains(stderr, fmt.Sprintf("%d blobs: ", len(blobs))) || !strings.Contains(stderr, blobs[0].ContentID) {
		t.Errorf("stderr does not count the %d blobs of the one cause with an example:\n%s", len(blobs), stderr)
	}
	debugLog, err := os.ReadFile(filepath.Join(h.debug, "debug.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blobs {
		if !strings.Contains(string(debugLog), b.ContentID) {
			t.Fatalf("debug.log does not name failed blob %s", b.ContentID)
		}
	}
	var sum struct {
		Total struct {
			BlobsFailed  int `json:"blobs_failed"`
			ProblemCount int `json:"problem_count"`
		} `json:"total"`
		Types []struct {
			Problems []string `json:"problems"`
		} `json:"content_types"`
	}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, stdout)
	}
	if sum.Total.BlobsFailed != len(blobs) || len(sum.Types) != 1 || len(sum.Types[0].Problems) > 10 {
		t.Errorf("summary: %d failed, problems %q; want %d failed and a short list", sum.Total.BlobsFailed, sum.Types[0].Problems, len(blobs))
	}
	t.Logf("stderr:\n%s", stderr)
	if len(stdout) > 8<<10 {
		t.Errorf("the JSON summary is %d bytes for one cause", len(stdout))
	}
}
