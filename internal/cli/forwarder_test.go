package cli_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
)

// The output as a forwarder sees it: a real rsyslogd (imfile) tails the output directory while
// the real binary runs again and again against the emulator with new content arriving, some
// runs killed with SIGKILL, some meeting API faults, and the real logrotate rotates the files
// between runs and during them. What rsyslog read is then held against what the emulator
// served. `make e2e` runs this test alone.
func TestForwarderRsyslogLogrotate(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end with rsyslogd and logrotate: builds the binary, about a minute")
	}
	rsyslogd, logrotate := findTool("rsyslogd"), findTool("logrotate")
	if rsyslogd == "" || logrotate == "" {
		t.Skip("rsyslogd or logrotate not installed (Debian: apt-get install rsyslog logrotate); skipping the forwarder end-to-end test")
	}
	bin := buildBinary(t)
	for _, m := range e2eModes {
		t.Run(m.name, func(t *testing.T) {
			e := &e2e{t: t, bin: bin, rsyslogd: rsyslogd, logrotate: logrotate, e2eMode: m}
			e.run()
		})
	}
}

// findTool looks in PATH and in the sbin directories a non-root PATH often lacks.
func findTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// e2eMode is how logrotate rotates and when.
type e2eMode struct {
	name         string
	copytruncate bool // else create
	// duringRuns: logrotate also runs while the binary writes, and some runs are killed.
	// Without it, rotations come between runs only, as under the README's flock recipe.
	duringRuns bool
	// strict: every served record read exactly once, every line a complete JSON object.
	// Otherwise what rsyslog missed, repeated or read broken is counted and reported.
	strict bool
}

var e2eModes = []e2eMode{
	{name: "create", duringRuns: true, strict: true},
	{name: "copytruncate", copytruncate: true, strict: true},
	{name: "copytruncate-during-runs", copytruncate: true, duringRuns: true},
}

type e2e struct {
	e2eMode
	t                        *testing.T
	bin, rsyslogd, logrotate string
	h                        *harness
	ca                       string
	received                 string // what rsyslog read, one line per line
	rotateConf, rotateState  string
	rotations                int
}

var e2eTypes = []string{"Audit.Exchange", "Audit.General"}

func (e *e2e) run() {
	t := e.t
	e.h = newHarness(t, setup{emu: emulator.Config{Seed: 11, PageSize: 5}, types: e2eTypes})
	h := e.h
	e.ca = h.caFile()
	if err := os.MkdirAll(h.out, 0o750); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, ct := range e2eTypes {
		h.srv.Generate(ct, now.Add(-3*time.Hour), now.Add(-2*time.Minute), 4*time.Minute, 6)
	}
	// Records of the size real Exchange and SharePoint records reach (17 KB and more): a
	// forwarder with a short line limit would cut them.
	h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.General", Created: now.Add(-90 * time.Minute), Records: 5, RecordBytes: 18 << 10})
	h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.Exchange", Created: now.Add(-80 * time.Minute), Records: 2, RecordBytes: 60 << 10})
	// Large blobs make the appends long enough for a kill or a rotation to land inside one.
	h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.Exchange", Created: now.Add(-70 * time.Minute), Records: 800})
	h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.General", Created: now.Add(-60 * time.Minute), Records: 600})

	e.startRsyslog()
	e.writeRotateConf()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var killed, faulted, rotatedDuring int
	const runs = 12
	for i := range runs {
		// Steady new content: every run finds some.
		for _, ct := range e2eTypes {
			h.srv.AddBlob(emulator.BlobSpec{ContentType: ct, Created: time.Now().Add(-2 * time.Second), Records: 10 + rng.IntN(60)})
		}
		if i%5 == 0 {
			h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.Exchange", Created: time.Now().Add(-time.Second), Records: 400})
		}
		faults := emulator.Faults{Latency: time.Duration(rng.IntN(6)) * time.Millisecond}
		kill := e.duringRuns && i%3 == 1
		if i%4 == 2 {
			faults.ServerError, faults.Drop, faults.Throttle429, faults.HTMLError = 0.1, 0.1, 0.05, 0.05
			faulted++
		}
		h.srv.SetFaults(faults)
		var during time.Duration
		if e.duringRuns && (i%3 != 1 || i%2 == 0) {
			during = time.Duration(20+rng.IntN(250)) * time.Millisecond
		}
		var killAfter time.Duration
		if kill {
			killAfter = time.Duration(30+rng.IntN(300)) * time.Millisecond
		}
		res := e.runOnce(killAfter, during)
		if res.killed {
			killed++
		}
		if res.rotatedDuring {
			rotatedDuring++
		}
		t.Logf("run %2d: %s", i, res.desc)
		if i%2 == 1 {
			e.rotate()
		}
	}
	// The last runs meet no fault and nobody kills them: everything served gets written.
	h.srv.SetFaults(emulator.Faults{})
	for attempt := 0; ; attempt++ {
		res := e.runOnce(0, 0)
		if res.code == 0 {
			break
		}
		if attempt == 2 {
			t.Fatalf("final run: %s", res.desc)
		}
	}
	e.rotate()
	h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.Exchange", Created: time.Now().Add(-time.Second), Records: 10})
	if res := e.runOnce(0, 0); res.code != 0 {
		t.Fatalf("last run: %s", res.desc)
	}
	if e.duringRuns && (killed == 0 || rotatedDuring == 0) {
		t.Fatalf("killed %d runs, rotated during %d: the test proves nothing", killed, rotatedDuring)
	}
	t.Logf("%d runs: %d killed, %d with API faults, %d rotations (%d during a run), %d API faults injected",
		runs, killed, faulted, e.rotations, rotatedDuring, h.srv.Stats().Faults+h.srv.Stats().Throttled)

	served := map[string]bool{}
	for _, ct := range e2eTypes {
		for _, b := range h.srv.Blobs(ct) {
			for _, id := range b.RecordIDs {
				served[ct+" "+id] = true
			}
		}
	}
	got := e.waitDrained(len(served))
	onDisk := e.onDisk()
	e.compare(served, got, onDisk)
}

type runResult struct {
	code          int
	killed        bool
	rotatedDuring bool
	desc          string
}

// runOnce runs the binary; killAfter > 0 sends SIGKILL after that long, during > 0 runs
// logrotate that long after the start while the binary still runs.
func (e *e2e) runOnce(killAfter, during time.Duration) runResult {
	t := e.t
	cmd := exec.Command(e.bin, "--config", e.h.cfg)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "SSL_CERT_FILE=" + e.ca}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var res runResult
	var rotateAt, killAt <-chan time.Time
	if during > 0 {
		rotateAt = time.After(during)
	}
	if killAfter > 0 {
		killAt = time.After(killAfter)
	}
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case <-rotateAt:
			rotateAt = nil
			e.rotate()
			res.rotatedDuring = true
			// Finished meanwhile? Then it was not during.
			select {
			case err := <-done:
				res.rotatedDuring = false
				return e.finish(res, err, &stderr)
			default:
			}
		case <-killAt:
			killAt = nil
			_ = cmd.Process.Signal(syscall.SIGKILL)
			err := <-done
			res.killed = true
			return e.finish(res, err, &stderr)
		case err := <-done:
			return e.finish(res, err, &stderr)
		case <-timeout:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
			t.Fatalf("run did not end within 2 minutes:\n%s", stderr.String())
		}
	}
}

func (e *e2e) finish(res runResult, err error, stderr *bytes.Buffer) runResult {
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && res.killed:
		res.code = -1
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		e.t.Fatal(err)
	}
	res.desc = fmt.Sprintf("exit %d, killed %v, rotated during %v", res.code, res.killed, res.rotatedDuring)
	if res.code > 1 {
		e.t.Fatalf("run failed: %s\n%s", res.desc, stderr.String())
	}
	if res.code == 1 {
		res.desc += ": " + lastLine(stderr.String())
	}
	return res
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// startRsyslog runs rsyslogd in the foreground with a config, work directory and pid file of
// its own: imfile tails <out>/*.log and an omfile action writes each line as read.
func (e *e2e) startRsyslog() {
	t := e.t
	dir := filepath.Join(e.h.dir, "rsyslog")
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o700); err != nil {
		t.Fatal(err)
	}
	e.received = filepath.Join(dir, "received.log")
	probe, probed := filepath.Join(dir, "probe.log"), filepath.Join(dir, "probed.log")
	conf := filepath.Join(dir, "rsyslog.conf")
	writeFile(t, conf, rsyslogConf(e.h.out, work, e.received)+fmt.Sprintf(`
# The test's own: a line appended to the probe file shows that rsyslog reads files.
input(type="imfile" file=%q tag="probe" ruleset="probe")
ruleset(name="probe") { action(type="omfile" file=%q template="o365raw") }
`, probe, probed))
	cmd := exec.Command(e.rsyslogd, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for n := 0; ; n++ {
		if n%10 == 0 {
			f, err := os.OpenFile(probe, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = f.WriteString("ready\n")
			_ = f.Close()
		}
		if data, _ := os.ReadFile(probed); bytes.Contains(data, []byte("ready")) {
			break
		}
		select {
		case <-exited:
			t.Fatalf("rsyslogd exited at start:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd read nothing within 15 s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rsyslogConf is the README's imfile recipe, with paths of the test's own.
func rsyslogConf(out, work, received string) string {
	return fmt.Sprintf(`global(workDirectory=%q maxMessageSize="1m")
module(load="imfile" mode="inotify")
template(name="o365raw" type="string" string="%%rawmsg%%\n")
ruleset(name="o365") {
    action(type="omfile" file=%q template="o365raw")
}
input(type="imfile" file=%q tag="o365" ruleset="o365"
      reopenOnTruncate="on")
`, work, received, filepath.Join(out, "*.log"))
}

// writeRotateConf writes a logrotate config like the README's, in the test's mode.
func (e *e2e) writeRotateConf() {
	dir := filepath.Join(e.h.dir, "logrotate")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		e.t.Fatal(err)
	}
	e.rotateConf = filepath.Join(dir, "o365logfetch.conf")
	e.rotateState = filepath.Join(dir, "state")
	how := "create 0640"
	if e.copytruncate {
		how = "copytruncate"
	}
	conf := fmt.Sprintf(`%s/*.log {
    daily
    rotate 1000
    compress
    delaycompress
    missingok
    notifempty
    %s
}
`, e.h.out, how)
	if err := os.WriteFile(e.rotateConf, []byte(conf), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// rotate runs logrotate -f with its own state file.
func (e *e2e) rotate() {
	args := []string{e.logrotate, "-f", "-s", e.rotateState, e.rotateConf}
	if flock := findTool("flock"); flock != "" && !e.duringRuns {
		// The README's recipe: logrotate under the run lock, so it never meets a run.
		args = append([]string{flock, "-w", "60", filepath.Join(e.h.state, "o365logfetch.lock")}, args...)
	}
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("logrotate: %v\n%s", err, out)
	}
	e.rotations++
}

// waitDrained polls rsyslog's output until it holds want lines or stops growing.
func (e *e2e) waitDrained(want int) []string {
	var last int64 = -1
	stable := time.Now()
	deadline := time.Now().Add(30 * time.Second)
	for {
		fi, err := os.Stat(e.received)
		size := int64(0)
		if err == nil {
			size = fi.Size()
		}
		if size != last {
			last, stable = size, time.Now()
		}
		if lines := e.readLines(e.received); len(lines) >= want && time.Since(stable) > 500*time.Millisecond ||
			time.Since(stable) > 3*time.Second || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *e2e) readLines(path string) []string {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return splitLines(data)
}

func splitLines(data []byte) []string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// onDisk counts every record in the output directory, rotated and compressed files included.
func (e *e2e) onDisk() map[string]int {
	t := e.t
	count := map[string]int{}
	entries, err := os.ReadDir(e.h.out)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range entries {
		f, err := os.Open(filepath.Join(e.h.out, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = f
		if strings.HasSuffix(de.Name(), ".gz") {
			if r, err = gzip.NewReader(f); err != nil {
				t.Fatal(err)
			}
		}
		data, err := io.ReadAll(r)
		_ = f.Close()
		if err != nil {
			t.Fatal(err)
		}
		// A NUL byte is a hole written into the file: no rotation mode excuses it.
		if i := bytes.IndexByte(data, 0); i >= 0 {
			t.Errorf("%s holds a NUL byte at offset %d", de.Name(), i)
		}
		// The files the tool writes hold whole lines only. A copy made by copytruncate while
		// a run wrote may end in part of a line: that is logrotate's window, counted below.
		current := strings.HasSuffix(de.Name(), ".log")
		for n, line := range splitLines(data) {
			key, err := recordKey(line)
			if err != nil {
				if e.strict || current {
					t.Errorf("%s line %d on disk: %v", de.Name(), n+1, err)
				} else {
					t.Logf("%s line %d on disk, cut by copytruncate's copy: %v", de.Name(), n+1, err)
				}
				continue
			}
			count[key]++
		}
	}
	return count
}

// recordKey is a line's content type and record Id; an error when it is not a complete JSON
// object carrying both.
func recordKey(line string) (string, error) {
	var rec struct {
		ID          string `json:"Id"`
		ContentType string `json:"contentType"`
		ContentID   string `json:"contentId"`
	}
	dec := json.NewDecoder(strings.NewReader(line))
	if err := dec.Decode(&rec); err != nil {
		return "", fmt.Errorf("not a complete JSON object (%v): %.200s", err, line)
	}
	if dec.More() {
		return "", fmt.Errorf("more than one JSON value on the line: %.200s", line)
	}
	if rec.ID == "" || rec.ContentType == "" || rec.ContentID == "" {
		return "", fmt.Errorf("record without Id, contentType or contentId: %.200s", line)
	}
	return rec.ContentType + " " + rec.ID, nil
}

// compare holds what rsyslog read against what the emulator served and what is on disk.
func (e *e2e) compare(served map[string]bool, got []string, onDisk map[string]int) {
	t := e.t
	read := map[string]int{}
	bad := 0
	for n, line := range got {
		key, err := recordKey(line)
		if err != nil {
			bad++
			if e.strict || strings.IndexByte(line, 0) >= 0 {
				t.Errorf("rsyslog line %d: %v", n+1, err)
			} else if bad <= 3 {
				t.Logf("rsyslog line %d: %v", n+1, err)
			}
			continue
		}
		if !served[key] {
			t.Errorf("rsyslog line %d: record %q was never served", n+1, key)
		}
		read[key]++
	}
	var missing, repeated []string
	var lostOnDisk, repeatedOnDisk int
	for key := range served {
		switch c := read[key]; {
		case c == 0:
			missing = append(missing, key)
			if onDisk[key] == 0 {
				lostOnDisk++
			}
		case c > 1:
			repeated = append(repeated, key)
			if onDisk[key] > 1 {
				repeatedOnDisk++
			}
		}
	}
	sort.Strings(missing)
	sort.Strings(repeated)
	t.Logf("served %d records; rsyslog read %d lines, %d of them not a complete JSON object; "+
		"%d records never read (%d of them gone from disk too: logrotate's copy-then-truncate window), "+
		"%d read more than once (%d of them on disk more than once)",
		len(served), len(got), bad, len(missing), lostOnDisk, len(repeated), repeatedOnDisk)
	if !e.strict {
		return
	}
	for _, key := range missing {
		t.Errorf("record %s never reached rsyslog (on disk %d times)", key, onDisk[key])
	}
	for _, key := range repeated {
		t.Errorf("record %s reached rsyslog %d times (on disk %d times)", key, read[key], onDisk[key])
	}
}

// A run killed after appending lines it had not yet saved, then logrotate (create) before the
// next run: the next run finds those lines in the renamed file by its identity and does not
// write their records again.
func TestRecoveryFindsTailInRotatedFile(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	now := h.clock.Now()
	h.srv.Generate("Audit.Exchange", now.Add(-time.Hour), now.Add(-time.Minute), 20*time.Minute, 2)
	late := h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.Exchange", Created: now.Add(-30 * time.Second),
		VisibleAfter: 2 * time.Minute, Records: 3})
	h.mustRun(0)
	// What the killed run wrote: the late blob's records, unsaved.
	path := filepath.Join(h.out, "Audit.Exchange.log")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range late.RecordIDs {
		fmt.Fprintf(f, "{\"Id\":%q,\"contentId\":%q,\"contentType\":\"Audit.Exchange\"}\n", id, late.ContentID)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "")
	h.clock.Advance(3 * time.Minute)
	_, stderr := h.mustRun(0)
	if containsID(h.lines("Audit.Exchange"), late.RecordIDs[0]) {
		t.Fatalf("records the killed run wrote to the since rotated file were written again:\n%s", stderr)
	}
}
