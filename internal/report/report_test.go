package report_test

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/fetch"
	"github.com/o365logfetch/o365logfetch/internal/report"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs; if intended, run with -update\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

var started = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// runs are the fixed results the renderings are checked on.
var runs = []struct {
	name     string
	res      *fetch.Result
	saved    map[string]time.Time // saved ends in the state
	exitCode int
	err      error
}{
	{
		name: "cron",
		res: &fetch.Result{Started: started, Duration: 2345 * time.Millisecond, Types: []*fetch.TypeResult{
			{ContentType: "Audit.AzureActiveDirectory", From: started.Add(-25 * time.Hour), To: started, Windows: 2,
				Listed: 12, Known: 3, Fetched: 9, Records: 4321, Duplicates: 17, Bytes: 3 << 20,
				Newest: time.Date(2026, 11, 26, 8, 41, 0, 0, time.UTC), End: started},
			{ContentType: "Audit.Exchange", From: started.Add(-90 * time.Minute), To: started, Windows: 1,
				Listed: 4, Known: 4, End: started},
			{ContentType: "DLP.All", From: started.Add(-90 * time.Minute), To: started, Windows: 1,
				Listed: 3, Fetched: 1, Records: 1, Bytes: 700, Failed: []string{"c-2"}, Expired: []string{"c-3"},
				Newest: time.Date(2026, 11, 26, 7, 50, 0, 0, time.UTC), End: started.Add(-70 * time.Minute)},
		}},
		exitCode: 1,
		err:      errors.New("some content could not be fetched"),
	},
	{
		name: "backfill",
		res: &fetch.Result{Started: started, Duration: time.Minute, Backfill: true, Types: []*fetch.TypeResult{
			{ContentType: "Audit.SharePoint", From: started.Add(-48 * time.Hour), To: started.Add(-24 * time.Hour), Windows: 1,
				Listed: 2, Fetched: 2, Records: 10, Bytes: 5000, Newest: started.Add(-25 * time.Hour)},
			{ContentType: "Audit.General", From: started.Add(-48 * time.Hour), To: started.Add(-24 * time.Hour), Windows: 1},
		}},
		saved: map[string]time.Time{"Audit.SharePoint": started.Add(-3 * time.Hour)},
	},
	{
		name:     "locked",
		exitCode: 4,
		err:      errors.New("another run holds the lock"),
	},
}

func summaries() map[string]report.Summary {
	out := map[string]report.Summary{}
	for _, r := range runs {
		saved := func(ct string) time.Time { return r.saved[ct] }
		out[r.name] = report.New(r.res, saved, r.exitCode, r.err, started.Add(time.Minute))
	}
	return out
}

func TestSummaryRenderings(t *testing.T) {
	for _, r := range runs {
		s := summaries()[r.name]
		t.Run(r.name, func(t *testing.T) {
			var js, text, logs bytes.Buffer
			if err := s.JSON(&js); err != nil {
				t.Fatal(err)
			}
			if bytes.Count(js.Bytes(), []byte("\n")) != 1 {
				t.Errorf("JSON summary is not one line:\n%s", js.Bytes())
			}
			golden(t, r.name+".json.golden", js.Bytes())
			if err := s.Text(&text); err != nil {
				t.Fatal(err)
			}
			golden(t, r.name+".txt.golden", text.Bytes())
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey {
						return slog.Attr{}
					}
					return a
				}}))
			s.Log(log)
			golden(t, r.name+".log.golden", logs.Bytes())
			golden(t, r.name+".prom.golden", s.Metrics(0))
		})
	}
}

func TestSummaryCounts(t *testing.T) {
	s := summaries()
	cron := s["cron"]
	if got := cron.Total; got.BlobsListed != 19 || got.BlobsNew != 12 || got.BlobsKnown != 7 || got.BlobsWritten != 10 ||
		got.BlobsFailed != 1 || got.BlobsExpired != 1 || got.Records != 4322 || got.Duplicates != 17 || got.Windows != 4 {
		t.Errorf("cron total = %+v", got)
	}
	// Lag is measured from the saved end: 0 for a type fetched up to the run's start, the
	// stuck 70 minutes (plus the run) for the type whose blob failed; the total shows the worst.
	if lag := cron.Types[2].LagSeconds; lag == nil || *lag != int64((70*time.Minute+2345*time.Millisecond)/time.Second) {
		t.Errorf("DLP.All lag = %v", lag)
	}
	if *cron.Total.LagSeconds != *cron.Types[2].LagSeconds {
		t.Errorf("total lag %d, want the largest of the types", *cron.Total.LagSeconds)
	}
	if !cron.Total.NewestContentCreated.Equal(*cron.Types[0].NewestContentCreated) {
		t.Errorf("total newest = %v, want the newest of the types", cron.Total.NewestContentCreated)
	}
	// A backfill does not move the saved end: the lag is that of the cron progress, and none
	// for a type that never ran.
	bf := s["backfill"]
	if lag := bf.Types[0].LagSeconds; lag == nil || *lag != int64((3*time.Hour+time.Minute)/time.Second) {
		t.Errorf("backfill lag = %v, want from the saved end", lag)
	}
	if bf.Types[1].LagSeconds != nil || bf.Types[1].SavedEnd != nil {
		t.Errorf("type without progress has lag %v, saved end %v", bf.Types[1].LagSeconds, bf.Types[1].SavedEnd)
	}
	if got := s["locked"]; len(got.Types) != 0 || got.ExitCode != 4 || got.Error == "" {
		t.Errorf("locked summary = %+v", got)
	}
}

func TestWriteMetricsKeepsLastSuccess(t *testing.T) {
	s := summaries()
	ok := s["backfill"] // exit 0
	failed := s["cron"] // exit 1
	okTime := float64(ok.Finished.Unix())
	tests := []struct {
		name  string
		old   string // previous file; "" = none
		sum   report.Summary
		want  float64 // 0 = metric absent
		wantN int     // samples in the file
	}{
		{"success sets it", "", ok, okTime, 25},
		{"success replaces an older one", "# TYPE o365logfetch_last_success_timestamp_seconds gauge\no365logfetch_last_success_timestamp_seconds 1000\n", ok, okTime, 25},
		{"failure keeps the previous one", "# TYPE o365logfetch_last_success_timestamp_seconds gauge\no365logfetch_last_success_timestamp_seconds 1.7641e+09\n", failed, 1.7641e9, 37},
		{"failure without a previous file leaves it out", "", failed, 0, 36},
		{"failure after a file that is not ours leaves it out", "garbage\n", failed, 0, 36},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "o365logfetch.prom")
			if tt.old != "" {
				if err := os.WriteFile(path, []byte(tt.old), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := report.WriteMetrics(path, tt.sum); err != nil {
				t.Fatal(err)
			}
			m, err := report.ReadMetrics(path)
			if err != nil {
				t.Fatalf("the written file does not parse: %v", err)
			}
			if got, ok := m[report.LastSuccess]; got != tt.want || ok != (tt.want != 0) {
				t.Errorf("last success = %v (present %v), want %v", got, ok, tt.want)
			}
			if len(m) != tt.wantN {
				t.Errorf("%d samples, want %d: %v", len(m), tt.wantN, m)
			}
			if got := m["o365logfetch_last_run_exit_code"]; got != float64(tt.sum.ExitCode) {
				t.Errorf("exit code = %v, want %d", got, tt.sum.ExitCode)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want only the metrics file (no temporary left)", len(entries))
			}
			if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644 so node_exporter can read it", fi.Mode().Perm())
			}
		})
	}
}

func TestWriteMetricsIntoMissingDirectory(t *testing.T) {
	err := report.WriteMetrics(filepath.Join(t.TempDir(), "no", "such.prom"), summaries()["cron"])
	if err == nil || !strings.Contains(err.Error(), "metrics file") {
		t.Errorf("err = %v, want a metrics file error", err)
	}
}

func TestReadMetricsIsStrict(t *testing.T) {
	const typ = "# TYPE m gauge\n"
	tests := []struct {
		name, text string
		ok         bool
	}{
		{"gauge with labels", typ + `m{a="x",b="y \"q\" \\ \n"} 1.5` + "\n", true},
		{"help and blank lines", "# HELP m a metric\n" + typ + "\nm 2\n", true},
		{"sample before its TYPE", "m 1\n" + typ, false},
		{"value not a number", typ + "m one\n", false},
		{"NaN", typ + "m NaN\n", false},
		{"repeated series", typ + "m 1\nm 2\n", false},
		{"bad label syntax", typ + "m{a=x} 1\n", false},
		{"unknown type", "# TYPE m meter\nm 1\n", false},
		{"family declared twice", typ + typ, false},
		{"bad metric name", "# TYPE 1m gauge\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.prom")
			if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := report.ReadMetrics(path)
			if (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 3 << 20: "3.0 MiB", 5 << 40: "5.0 TiB"} {
		if got := report.Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// syncBuffer is a terminal stand-in that many goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The bar is fed from every download worker while warnings are logged through its writer.
func TestBarFromManyWorkers(t *testing.T) {
	var term syncBuffer
	bar := report.NewBar(&term)
	log := slog.New(slog.NewTextHandler(bar.Writer(), nil))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 25 {
				created := time.Unix(int64(w*100+i), 0)
				bar.Queued("Audit.Exchange", created)
				bar.Written("Audit.Exchange", created, 4, 1000)
				if i%10 == 0 {
					log.Warn("retrying", "attempt", i, "worker", w)
				}
			}
		})
	}
	wg.Wait()
	bar.Close()
	bar.Written("Audit.Exchange", time.Time{}, 1, 1) // after Close: ignored, draws nothing
	out := term.String()
	if !strings.Contains(out, " blobs, ") {
		t.Errorf("bar never showed the blob count:\n%q", out)
	}
	// Each warning starts on a line of its own: the bar is cleared (\r) before it, or the
	// previous warning ended the line.
	if n := strings.Count(out, "time="); n != 24 {
		t.Errorf("%d warnings, want 24:\n%q", n, out)
	}
	if n := strings.Count(out, "\rtime=") + strings.Count(out, "\ntime=") + boolInt(strings.HasPrefix(out, "time=")); n != 24 {
		t.Errorf("%d warnings start on a line of their own, want 24:\n%q", n, out)
	}
	// Finishing clears the bar: the terminal ends on an empty line for the summary.
	if last := out[strings.LastIndex(out, "\r"):]; strings.TrimSpace(last) != "" {
		t.Errorf("bar not cleared at the end: %q", last)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
