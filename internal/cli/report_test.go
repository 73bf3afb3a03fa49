package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/cli"
	"github.com/o365logfetch/o365logfetch/internal/emulator"
	"github.com/o365logfetch/o365logfetch/internal/report"
	"github.com/o365logfetch/o365logfetch/internal/state"
)

// summaryHarness is a tenant with content in two types, one of which can be made to fail.
func summaryHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, setup{types: []string{"Audit.Exchange", "Audit.SharePoint"}})
	now := h.clock.Now()
	h.srv.Generate("Audit.Exchange", now.Add(-2*time.Hour), now.Add(-time.Minute), 30*time.Minute, 3)
	h.srv.Generate("Audit.SharePoint", now.Add(-90*time.Minute), now.Add(-time.Minute), 45*time.Minute, 2)
	return h
}

var (
	jsonTime     = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"`)
	jsonDuration = regexp.MustCompile(`"(duration_seconds|lag_seconds|bytes_written)":[0-9.e+-]+`)
)

// normalise replaces what differs from run to run (times, duration, lag, sizes) so that the
// field names and counts can be compared with a golden file.
func normalise(s string) string {
	s = jsonTime.ReplaceAllString(s, `"<time>"`)
	return jsonDuration.ReplaceAllString(s, `"$1":0`)
}

func TestSummaryJSONOnStdout(t *testing.T) {
	h := summaryHarness(t)
	stdout, stderr := h.mustRun(0, "--summary", "json")
	if strings.Count(stdout, "\n") != 1 || !strings.HasSuffix(stdout, "}\n") {
		t.Fatalf("stdout is not one JSON object on one line:\n%s", stdout)
	}
	if stderr != "" {
		t.Errorf("stderr is not empty:\n%s", stderr)
	}
	var sum report.Summary
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sum); err != nil {
		t.Fatalf("summary does not decode: %v\n%s", err, stdout)
	}
	// The numbers agree with what is on disk.
	for _, ts := range sum.Types {
		fi, err := os.Stat(filepath.Join(h.out, ts.ContentType+".log"))
		if err != nil {
			t.Fatal(err)
		}
		if ts.Bytes != fi.Size() {
			t.Errorf("%s: bytes_written %d, file has %d", ts.ContentType, ts.Bytes, fi.Size())
		}
		if ts.Records != int64(len(h.lines(ts.ContentType))) {
			t.Errorf("%s: records_written %d, file has %d lines", ts.ContentType, ts.Records, len(h.lines(ts.ContentType)))
		}
		if ts.LagSeconds == nil || *ts.LagSeconds > 60 {
			t.Errorf("%s: lag %v after a complete run, want about 0", ts.ContentType, ts.LagSeconds)
		}
	}
	golden(t, "summary.json.golden", normalise(stdout))

	// A second run finds every blob known but one new blob, which repeats two records.
	h.clock.Advance(time.Minute)
	h.srv.AddBlob(emulator.BlobSpec{ContentType: "Audit.Exchange", Created: h.clock.Now().Add(-30 * time.Second),
		Records: 1, RepeatIDs: h.srv.Blobs("Audit.Exchange")[0].RecordIDs[:2]})
	stdout, _ = h.mustRun(0, "--summary", "json")
	sum = report.Summary{}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if ex := sum.Types[0]; ex.BlobsWritten != 1 || ex.Records != 1 || ex.Duplicates != 2 {
		t.Errorf("second run: %d blobs, %d records, %d duplicates; want 1, 1, 2", ex.BlobsWritten, ex.Records, ex.Duplicates)
	}
	golden(t, "summary_again.json.golden", normalise(stdout))
}

func TestSummaryOutput(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		fileStderr bool   // stderr is an *os.File that is not a terminal (cron redirecting to a file)
		stderrHas  string // "" = stderr must be empty
	}{
		{"cron: nothing at all", nil, false, ""},
		{"cron with stderr to a file: no bar, no summary", nil, true, ""},
		{"quiet", []string{"--quiet"}, false, ""},
		{"text asked for", []string{"--summary", "text"}, false, "total                       2 windows, blobs 6 listed / 6 new / 0 known / 6 written / 0 failed, 16 records"},
		{"text asked for, stderr a file", []string{"--summary=text"}, true, "Audit.SharePoint            1 window, blobs 2 listed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := summaryHarness(t)
			var stdout bytes.Buffer
			var stderr string
			app := cli.App{Stdout: &stdout, HTTP: h.srv.Client(), Now: h.clock.Now}
			var errBuf bytes.Buffer
			app.Stderr = &errBuf
			if tt.fileStderr {
				f, err := os.Create(filepath.Join(h.dir, "stderr"))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				app.Stderr = f
			}
			code := app.Run(context.Background(), append([]string{"--config", h.cfg}, tt.args...))
			stderr = errBuf.String()
			if tt.fileStderr {
				data, err := os.ReadFile(filepath.Join(h.dir, "stderr"))
				if err != nil {
					t.Fatal(err)
				}
				stderr = string(data)
			}
			if code != 0 {
				t.Fatalf("exit code %d\n%s", code, stderr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout is not empty (cron mails it):\n%s", stdout.String())
			}
			if strings.ContainsAny(stderr, "\r|%") {
				t.Errorf("stderr holds a progress bar:\n%q", stderr)
			}
			switch {
			case tt.stderrHas == "" && stderr != "":
				t.Errorf("stderr is not empty:\n%s", stderr)
			case !strings.Contains(stderr, tt.stderrHas):
				t.Errorf("stderr lacks %q:\n%s", tt.stderrHas, stderr)
			}
			// Whatever is printed, debug.log has the summary: a line per type and the total.
			log, err := os.ReadFile(filepath.Join(h.debug, "debug.log"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`msg="content type summary" content_type=Audit.Exchange`, `content_type=Audit.SharePoint windows=1`, `msg="run finished"`, "exit_code=0"} {
				if !strings.Contains(string(log), want) {
					t.Errorf("debug.log lacks %q", want)
				}
			}
		})
	}
}

func TestSummaryJSONOfAFailedRun(t *testing.T) {
	h := newHarness(t, setup{
		emu:   emulator.Config{Subscriptions: map[string]string{"Audit.Exchange": "enabled"}},
		types: []string{"Audit.Exchange", "Audit.General"},
		api:   "autoStartSubscriptions = False",
	})
	h.srv.Generate("Audit.Exchange", h.clock.Now().Add(-time.Hour), h.clock.Now().Add(-time.Minute), 20*time.Minute, 2)
	stdout, _ := h.mustRun(1, "--summary", "json")
	var sum report.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if sum.ExitCode != 1 || !strings.Contains(sum.Error, "some content could not be fetched") {
		t.Errorf("exit_code %d, error %q", sum.ExitCode, sum.Error)
	}
	gen := sum.Types[1]
	if gen.ContentType != "Audit.General" || gen.ProblemCount != 1 || len(gen.Problems) != 1 ||
		!strings.Contains(gen.Problems[0], "subscriptions start Audit.General") {
		t.Errorf("Audit.General = %+v, want its problem", gen)
	}
	if sum.Total.ProblemCount != 1 || sum.Types[0].BlobsWritten != 3 {
		t.Errorf("total problems %d, Exchange written %d", sum.Total.ProblemCount, sum.Types[0].BlobsWritten)
	}

	// A run that cannot start still answers the script with one object.
	lock, err := state.Lock(h.state)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	stdout, _ = h.mustRun(4, "--summary", "json")
	sum = report.Summary{}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil || sum.ExitCode != 4 || sum.Error == "" || len(sum.Types) != 0 {
		t.Errorf("summary of a run that could not start = %+v (%v)\n%s", sum, err, stdout)
	}
}

func TestMetricsFile(t *testing.T) {
	h := newHarness(t, setup{
		emu:   emulator.Config{Subscriptions: map[string]string{"Audit.Exchange": "enabled", "DLP.All": "enabled"}},
		types: []string{"Audit.Exchange", "DLP.All"},
		api:   "autoStartSubscriptions = False",
	})
	now := h.clock.Now()
	h.srv.Generate("Audit.Exchange", now.Add(-2*time.Hour), now.Add(-time.Minute), 30*time.Minute, 3)
	metrics := filepath.Join(h.dir, "textfile", "o365logfetch.prom")

	// The directory is checked before fetching: a typo is a usage error, not a silent loss.
	if code, _, stderr := h.run("--metrics-file", metrics); code != 2 || !strings.Contains(stderr, "--metrics-file") {
		t.Fatalf("missing metrics directory: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(h.out, "Audit.Exchange.log")); err == nil {
		t.Fatal("fetched although the metrics file cannot be written")
	}
	if err := os.Mkdir(filepath.Dir(metrics), 0o755); err != nil {
		t.Fatal(err)
	}

	h.mustRun(0, "--metrics-file", metrics)
	first, err := report.ReadMetrics(metrics)
	if err != nil {
		t.Fatalf("metrics file does not parse: %v", err)
	}
	success := first[report.LastSuccess]
	if d := time.Since(time.Unix(int64(success), 0)); d < -time.Minute || d > time.Minute {
		t.Errorf("last success %v is not now", time.Unix(int64(success), 0))
	}
	for series, want := range map[string]float64{
		`o365logfetch_last_run_exit_code`:                                              0,
		`o365logfetch_records_last_run{content_type="Audit.Exchange"}`:                 float64(len(h.lines("Audit.Exchange"))),
		`o365logfetch_blobs_last_run{content_type="Audit.Exchange",outcome="written"}`: 4,
		`o365logfetch_failures_last_run{content_type="DLP.All"}`:                       0,
		`o365logfetch_blobs_last_run{content_type="DLP.All",outcome="listed"}`:         0,
	} {
		if got, ok := first[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	if lag, ok := first[`o365logfetch_lag_seconds{content_type="Audit.Exchange"}`]; !ok || lag > 60 {
		t.Errorf("lag = %v (present %v), want about 0", lag, ok)
	}

	// A failing run replaces the file but keeps the last success time.
	h.clock.Advance(2 * time.Minute)
	h.srv.SetSubscription("DLP.All", "disabled")
	h.mustRun(1, "--metrics-file", metrics)
	second, err := report.ReadMetrics(metrics)
	if err != nil {
		t.Fatalf("metrics file does not parse: %v", err)
	}
	if second[report.LastSuccess] != success {
		t.Errorf("last success moved on a failed run: %v → %v", success, second[report.LastSuccess])
	}
	if second["o365logfetch_last_run_exit_code"] != 1 || second[`o365logfetch_failures_last_run{content_type="DLP.All"}`] != 1 {
		t.Errorf("failed run: exit code %v, DLP.All failures %v", second["o365logfetch_last_run_exit_code"],
			second[`o365logfetch_failures_last_run{content_type="DLP.All"}`])
	}
	if second["o365logfetch_last_run_timestamp_seconds"] <= first["o365logfetch_last_run_timestamp_seconds"] {
		t.Errorf("last run time did not move")
	}
	entries, _ := os.ReadDir(filepath.Dir(metrics))
	if len(entries) != 1 {
		t.Errorf("textfile directory holds %d entries, want 1 (node_exporter reads every *.prom)", len(entries))
	}
}

func TestBadSummaryFormat(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	code, stdout, stderr := h.run("--summary", "yaml")
	if code != 2 || stdout != "" || !strings.Contains(stderr, `--summary "yaml"`) {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestVersion(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	stdout, stderr := h.mustRun(0, "version")
	if !strings.HasPrefix(stdout, "o365logfetch ") || !strings.Contains(stdout, runtime.Version()) ||
		strings.Count(stdout, "\n") != 1 || stderr != "" {
		t.Errorf("version printed stdout %q, stderr %q", stdout, stderr)
	}
	if testing.Short() {
		return
	}
	// The release build stamps the version with -X, as the Makefile does.
	bin := filepath.Join(t.TempDir(), "o365logfetch")
	build := exec.Command("go", "build", "-o", bin, "-ldflags",
		"-X github.com/o365logfetch/o365logfetch/internal/cli.version=v9.8.7",
		"github.com/o365logfetch/o365logfetch/cmd/o365logfetch")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "o365logfetch v9.8.7 (commit ") || !strings.Contains(string(out), runtime.Version()) {
		t.Errorf("version = %q", out)
	}
}
