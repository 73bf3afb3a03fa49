// Package report tells what a run did: the run summary (log lines, text on a terminal, one JSON
// object for scripts), Prometheus textfile metrics for monitoring, and a progress bar.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/fetch"
	"github.com/o365logfetch/o365logfetch/internal/localfs"
)

// Summary is what a run did, in the form every rendering shares. Its JSON field names are a
// stable interface for scripts: add fields, never rename them.
type Summary struct {
	Started         time.Time `json:"started"`
	Finished        time.Time `json:"finished"`
	DurationSeconds float64   `json:"duration_seconds"`
	Backfill        bool      `json:"backfill"`
	ExitCode        int       `json:"exit_code"`
	Error           string    `json:"error,omitempty"`
	Types           []Type    `json:"content_types"`
	Total           Counts    `json:"total"`
}

// Counts are the numbers of one content type, or of the whole run.
type Counts struct {
	Windows      int   `json:"windows"`
	BlobsListed  int   `json:"blobs_listed"`
	BlobsNew     int   `json:"blobs_new"`   // listed and not written before: queued for download
	BlobsKnown   int   `json:"blobs_known"` // listed but already written by an earlier run: skipped
	BlobsWritten int   `json:"blobs_written"`
	BlobsFailed  int   `json:"blobs_failed"`  // kept pending for the next run
	BlobsExpired int   `json:"blobs_expired"` // lost: Microsoft expired them first
	Records      int64 `json:"records_written"`
	// Duplicates are records left out because an earlier blob already delivered them (Microsoft
	// delivers some records more than once).
	Duplicates   int64 `json:"records_dropped_duplicate"`
	Bytes        int64 `json:"bytes_written"`
	ProblemCount int   `json:"problem_count"` // lines in problems: failed listings, blobs, subscriptions
	// NewestContentCreated is the newest contentCreated among the blobs written; nil when none.
	NewestContentCreated *time.Time `json:"newest_content_created"`
	// LagSeconds is how far the saved progress lies behind the end of the run: it grows when
	// runs stop fetching, and stays near zero on a quiet tenant (unlike the age of the newest
	// blob). Nil when the type has no saved progress yet. In the total: the largest lag.
	LagSeconds *int64 `json:"lag_seconds"`
}

// Type is the summary of one content type.
type Type struct {
	ContentType string `json:"content_type"`
	Counts
	ListedFrom *time.Time `json:"listed_from"` // the range listed, overlap included
	ListedTo   *time.Time `json:"listed_to"`
	SavedEnd   *time.Time `json:"saved_end"` // content that became available before it is on disk
	Problems   []string   `json:"problems"`
}

// New summarises res. savedEnd gives a type's saved progress from the state (it is the only
// source when the run did not move it: a backfill, a type that failed); nil means none. res may
// be nil when the run could not start: the summary then only carries the time and the outcome.
func New(res *fetch.Result, savedEnd func(contentType string) time.Time, exitCode int, err error, now time.Time) Summary {
	s := Summary{Started: now.UTC(), Finished: now.UTC(), ExitCode: exitCode, Types: []Type{}}
	if err != nil {
		s.Error = err.Error()
	}
	if res == nil {
		return s
	}
	s.Started = res.Started.UTC()
	s.Finished = res.Started.Add(res.Duration).UTC()
	s.DurationSeconds = float64(res.Duration.Round(time.Millisecond).Milliseconds()) / 1000
	s.Backfill = res.Backfill
	for _, tr := range res.Types {
		t := Type{ContentType: tr.ContentType, Problems: tr.Problems}
		if t.Problems == nil {
			t.Problems = []string{}
		}
		t.Windows = tr.Windows
		t.BlobsListed = tr.Listed
		t.BlobsKnown = tr.Known
		t.BlobsNew = tr.Listed - tr.Known
		t.BlobsWritten = tr.Fetched
		t.BlobsFailed = len(tr.Failed)
		t.BlobsExpired = len(tr.Expired)
		t.Records = tr.Records
		t.Duplicates = tr.Duplicates
		t.Bytes = tr.Bytes
		t.ProblemCount = len(t.Problems)
		t.NewestContentCreated = timePtr(tr.Newest)
		t.ListedFrom, t.ListedTo = timePtr(tr.From), timePtr(tr.To)
		end := tr.End
		if end.IsZero() && savedEnd != nil {
			end = savedEnd(tr.ContentType)
		}
		t.SavedEnd = timePtr(end)
		if !end.IsZero() {
			lag := max(0, int64(s.Finished.Sub(end)/time.Second))
			t.LagSeconds = &lag
		}
		s.Types = append(s.Types, t)
		s.Total.add(t.Counts)
	}
	return s
}

func (c *Counts) add(t Counts) {
	c.Windows += t.Windows
	c.BlobsListed += t.BlobsListed
	c.BlobsNew += t.BlobsNew
	c.BlobsKnown += t.BlobsKnown
	c.BlobsWritten += t.BlobsWritten
	c.BlobsFailed += t.BlobsFailed
	c.BlobsExpired += t.BlobsExpired
	c.Records += t.Records
	c.Duplicates += t.Duplicates
	c.Bytes += t.Bytes
	c.ProblemCount += t.ProblemCount
	if t.NewestContentCreated != nil && (c.NewestContentCreated == nil || t.NewestContentCreated.After(*c.NewestContentCreated)) {
		c.NewestContentCreated = t.NewestContentCreated
	}
	if t.LagSeconds != nil && (c.LagSeconds == nil || *t.LagSeconds > *c.LagSeconds) {
		c.LagSeconds = t.LagSeconds
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// JSON writes the summary as one JSON object on one line.
func (s Summary) JSON(w io.Writer) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// Text writes one line per content type and a total line, for a person at a terminal.
func (s Summary) Text(w io.Writer) error {
	var b strings.Builder
	for _, t := range s.Types {
		fmt.Fprintf(&b, "%-26s  %s\n", t.ContentType, t.Counts.text())
	}
	fmt.Fprintf(&b, "%-26s  %s, in %s, exit code %d\n", "total", s.Total.text(),
		(time.Duration(s.DurationSeconds * float64(time.Second))).Round(time.Millisecond), s.ExitCode)
	_, err := io.WriteString(w, b.String())
	return err
}

func (c Counts) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, blobs %d listed / %d new / %d known / %d written / %d failed",
		plural(c.Windows, "window"), c.BlobsListed, c.BlobsNew, c.BlobsKnown, c.BlobsWritten, c.BlobsFailed)
	if c.BlobsExpired > 0 {
		fmt.Fprintf(&b, " / %d expired", c.BlobsExpired)
	}
	fmt.Fprintf(&b, ", %s", plural(int(c.Records), "record"))
	if c.Duplicates > 0 {
		fmt.Fprintf(&b, " (%d duplicates dropped)", c.Duplicates)
	}
	fmt.Fprintf(&b, ", %s", Bytes(c.Bytes))
	if c.NewestContentCreated != nil {
		fmt.Fprintf(&b, ", newest %s", c.NewestContentCreated.Format(time.RFC3339))
	}
	if c.LagSeconds != nil {
		fmt.Fprintf(&b, ", lag %s", time.Duration(*c.LagSeconds)*time.Second)
	}
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// Bytes formats a byte count for people: 512 B, 1.5 KiB, 12.0 MiB.
func Bytes(n int64) string { return localfs.FormatBytes(n) }

// Log writes the summary to log at Info: one line per content type and one for the run.
func (s Summary) Log(log *slog.Logger) {
	for _, t := range s.Types {
		log.Info("content type summary", append([]any{"content_type", t.ContentType}, t.Counts.attrs()...)...)
	}
	attrs := append(s.Total.attrs(), "duration", time.Duration(s.DurationSeconds*float64(time.Second)).Round(time.Millisecond).String(),
		"backfill", s.Backfill, "exit_code", s.ExitCode)
	log.Info("run finished", attrs...)
}

func (c Counts) attrs() []any {
	a := []any{"windows", c.Windows, "blobs_listed", c.BlobsListed, "blobs_new", c.BlobsNew,
		"blobs_known", c.BlobsKnown, "blobs_written", c.BlobsWritten, "blobs_failed", c.BlobsFailed,
		"blobs_expired", c.BlobsExpired, "records", c.Records, "duplicates", c.Duplicates, "bytes", c.Bytes, "problems", c.ProblemCount}
	if c.NewestContentCreated != nil {
		a = append(a, "newest_content_created", c.NewestContentCreated.Format(time.RFC3339))
	}
	if c.LagSeconds != nil {
		a = append(a, "lag", (time.Duration(*c.LagSeconds) * time.Second).String())
	}
	return a
}
