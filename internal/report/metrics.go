package report

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/o365logfetch/o365logfetch/internal/atomicfile"
)

// LastSuccess is the metric that monitoring alerts on: it only moves when a run exits 0.
const LastSuccess = "o365logfetch_last_success_timestamp_seconds"

// Metrics renders the summary in the Prometheus text exposition format, for node_exporter's
// textfile collector. lastSuccess is the Unix time of the last run that exited 0 (this one when
// its exit code is 0); zero leaves the metric out, so that "never succeeded" is not mistaken
// for a success in 1970. The per-type values are those of this run only, hence *_last_run.
func (s Summary) Metrics(lastSuccess float64) []byte {
	if s.ExitCode == 0 {
		lastSuccess = float64(s.Finished.Unix())
	}
	var b bytes.Buffer
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name, labels string, v float64) {
		if labels != "" {
			labels = "{" + labels + "}"
		}
		fmt.Fprintf(&b, "%s%s %s\n", name, labels, strconv.FormatFloat(v, 'f', -1, 64))
	}
	if lastSuccess != 0 {
		family(LastSuccess, "gauge", "Unix time at which the last run that fetched everything (exit code 0) ended.")
		sample(LastSuccess, "", lastSuccess)
	}
	family("o365logfetch_last_run_timestamp_seconds", "gauge", "Unix time at which the last run ended.")
	sample("o365logfetch_last_run_timestamp_seconds", "", float64(s.Finished.Unix()))
	family("o365logfetch_last_run_exit_code", "gauge", "Exit code of the last run: 0 everything fetched, 1 some content not fetched, 2 usage or configuration error, 3 authentication or permission error, 4 another run held the lock.")
	sample("o365logfetch_last_run_exit_code", "", float64(s.ExitCode))
	family("o365logfetch_last_run_duration_seconds", "gauge", "Duration of the last run.")
	sample("o365logfetch_last_run_duration_seconds", "", s.DurationSeconds)

	perType := func(name, help string, value func(Type) (float64, bool)) {
		family(name, "gauge", help)
		for _, t := range s.Types {
			if v, ok := value(t); ok {
				sample(name, label("content_type", t.ContentType), v)
			}
		}
	}
	perType("o365logfetch_records_last_run", "Audit records written by the last run.",
		func(t Type) (float64, bool) { return float64(t.Records), true })
	perType("o365logfetch_duplicates_last_run", "Audit records left out by the last run because they had been written before.",
		func(t Type) (float64, bool) { return float64(t.Duplicates), true })
	perType("o365logfetch_bytes_last_run", "Bytes appended to the output file by the last run.",
		func(t Type) (float64, bool) { return float64(t.Bytes), true })
	family("o365logfetch_blobs_last_run", "gauge", "Blobs of the last run by outcome: listed, new (not written before), known (skipped), written, failed (pending, retried by the next run), expired (lost).")
	for _, t := range s.Types {
		for _, o := range []struct {
			outcome string
			n       int
		}{{"listed", t.BlobsListed}, {"new", t.BlobsNew}, {"known", t.BlobsKnown}, {"written", t.BlobsWritten},
			{"failed", t.BlobsFailed}, {"expired", t.BlobsExpired}} {
			sample("o365logfetch_blobs_last_run", label("content_type", t.ContentType)+","+label("outcome", o.outcome), float64(o.n))
		}
	}
	perType("o365logfetch_failures_last_run", "Problems the last run reported for the content type (failed listings, blobs, subscriptions, lost periods); 0 when all was fetched.",
		func(t Type) (float64, bool) { return float64(t.ProblemCount), true })
	perType("o365logfetch_lag_seconds", "How far the saved progress of the content type lies behind the end of the last run.",
		func(t Type) (float64, bool) {
			if t.LagSeconds == nil {
				return 0, false
			}
			return float64(*t.LagSeconds), true
		})
	return b.Bytes()
}

func label(name, value string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return name + `="` + r.Replace(value) + `"`
}

// WriteMetrics replaces the metrics file at path: the collector reads it at any moment, so it
// must never see a half-written file. The last success time is carried over from the old file
// when this run did not succeed.
func WriteMetrics(path string, s Summary) error {
	// An old file that is missing or unreadable loses only the carried-over time: monitoring
	// then sees the metric vanish, which alerts as "no success" rather than hiding a failure.
	var last float64
	if old, err := ReadMetrics(path); err == nil {
		last = old[LastSuccess]
	}
	// node_exporter usually runs as another user: the file holds no secret.
	if err := atomicfile.WriteFile(path, s.Metrics(last), 0o644); err != nil {
		return fmt.Errorf("metrics file: %w", err)
	}
	return nil
}

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)?\})? (\S+)$`)
)

// ReadMetrics reads a metrics file in the text exposition format, strictly: every sample
// belongs to a family declared by # TYPE before it, no series repeats, values are numbers.
// Keys are the series as written: name{label="value",...}.
func ReadMetrics(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	series := map[string]float64{}
	typed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		bad := func(why string) error { return fmt.Errorf("%s line %d: %s: %q", path, n, why, line) }
		switch {
		case strings.HasPrefix(line, "# TYPE "):
			fields := strings.Fields(line)
			if len(fields) != 4 || !metricName.MatchString(fields[2]) {
				return nil, bad("malformed TYPE")
			}
			switch fields[3] {
			case "gauge", "counter", "untyped", "summary", "histogram":
			default:
				return nil, bad("unknown type")
			}
			if typed[fields[2]] {
				return nil, bad("family declared twice")
			}
			typed[fields[2]] = true
		case strings.HasPrefix(line, "#"), line == "":
		default:
			m := sampleLine.FindStringSubmatch(line)
			if m == nil {
				return nil, bad("malformed sample")
			}
			if !typed[m[1]] {
				return nil, bad("sample before its # TYPE")
			}
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil || math.IsNaN(v) {
				return nil, bad("value is not a number")
			}
			key := m[1] + m[2]
			if _, dup := series[key]; dup {
				return nil, bad("series repeated")
			}
			series[key] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return series, nil
}
