package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/window"
)

// Repaired is what a repair fetched for one content type.
type Repaired struct {
	ContentType string `json:"contentType"`
	Blobs       int    `json:"blobs"`   // blobs written
	Records     int64  `json:"records"` // records written
	Failed      int    `json:"failed"`  // blobs that failed again: pending
	Lost        int    `json:"lost"`    // blobs Microsoft no longer serves
}

// Counts are the blobs of a type, or of all types, by kind.
type Counts struct {
	Listed  int `json:"listed"`
	Written int `json:"written"`
	Pending int `json:"pending"`
	Missing int `json:"missing"`
	Lost    int `json:"lost"`
	Ahead   int `json:"ahead"`
	// LinesAbsent counts written blobs without their lines in the output (--scan-output).
	LinesAbsent int `json:"linesAbsent,omitempty"`
}

func (t *TypeResult) counts() Counts {
	c := Counts{Listed: t.Listed, Written: t.Written, Pending: t.Pending, Missing: t.Missing, Lost: t.Lost, Ahead: t.Ahead}
	if t.Scan != nil && len(t.Scan.AbsentGaps) > 0 {
		c.LinesAbsent = t.Scan.Absent
	}
	return c
}

func (c *Counts) add(o Counts) {
	c.Listed += o.Listed
	c.Written += o.Written
	c.Pending += o.Pending
	c.Missing += o.Missing
	c.Lost += o.Lost
	c.Ahead += o.Ahead
	c.LinesAbsent += o.LinesAbsent
}

// Total is the counts of every type.
func (r *Result) Total() Counts {
	var c Counts
	for _, t := range r.Types {
		c.add(t.counts())
	}
	return c
}

// hourRange renders a gap as "2026-11-28 03:00–05:00 UTC" (the end's date when it differs).
func hourRange(start, end time.Time) string {
	s := start.UTC().Format("2006-01-02 15:04")
	if e := end.UTC(); e.Format("2006-01-02") == start.UTC().Format("2006-01-02") || e.Equal(start.UTC().Truncate(24*time.Hour).Add(24*time.Hour)) {
		return s + "–" + e.Format("15:04") + " UTC"
	}
	return s + "–" + end.UTC().Format("2006-01-02 15:04") + " UTC"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Text writes the report for people; verbose adds the content ids.
func (r *Result) Text(w io.Writer, verbose bool, repaired []Repaired) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Audit of %s (blobs Microsoft lists now, by when they became available)\n", hourRangeExact(r.Start, r.End))
	if u := r.Unreachable; u != nil {
		fmt.Fprintf(&b, "Not audited: %s lies beyond the 7 days Microsoft keeps content\n", hourRangeExact(u.Start, u.End))
	}
	ids := func(list []string) {
		if verbose {
			for _, id := range list {
				fmt.Fprintf(&b, "      %s\n", id)
			}
		}
	}
	for _, t := range r.Types {
		fmt.Fprintf(&b, "%s: %s listed: %d written, %d pending, %d missing, %d lost, %d not yet fetched\n",
			t.ContentType, plural(t.Listed, "blob", "blobs"), t.Written, t.Pending, t.Missing, t.Lost, t.Ahead)
		for _, g := range t.Gaps {
			fmt.Fprintf(&b, "  %s %s: %s missing\n", t.ContentType, hourRange(g.Start, g.End), plural(g.Blobs, "blob", "blobs"))
			ids(g.IDs)
		}
		if t.Pending > 0 {
			fmt.Fprintf(&b, "  %s: %s pending (failed before; the next run retries)\n", t.ContentType, plural(t.Pending, "blob", "blobs"))
			ids(t.PendingIDs)
		}
		if t.Lost > 0 {
			fmt.Fprintf(&b, "  %s: %s lost (expired while pending; Microsoft no longer serves them)\n", t.ContentType, plural(t.Lost, "blob", "blobs"))
			ids(t.LostIDs)
		}
		if t.Unlisted != nil {
			fmt.Fprintf(&b, "  %s %s: NOT AUDITED, the listing failed: %s\n", t.ContentType, hourRangeExact(t.Unlisted.Start, t.Unlisted.End), t.ListError)
		}
		if s := t.Scan; s != nil {
			fmt.Fprintf(&b, "  output: %d written blobs looked for in %s\n", t.Written, strings.Join(baseNames(s.Checked), ", "))
			for _, g := range s.AbsentGaps {
				fmt.Fprintf(&b, "  %s %s: %s written but absent from the output\n", t.ContentType, hourRange(g.Start, g.End), plural(g.Blobs, "blob", "blobs"))
				ids(g.IDs)
			}
			if len(s.NotChecked) > 0 {
				fmt.Fprintf(&b, "  output not checked: %s", strings.Join(baseNames(s.NotChecked), ", "))
				if s.Unverified > 0 {
					fmt.Fprintf(&b, " (%d written blobs not found in the files checked may be there)", s.Unverified)
				}
				b.WriteString("\n")
			}
		}
	}
	tot := r.Total()
	fmt.Fprintf(&b, "Total: %s listed: %d written, %d pending, %d missing, %d lost, %d not yet fetched\n",
		plural(tot.Listed, "blob", "blobs"), tot.Written, tot.Pending, tot.Missing, tot.Lost, tot.Ahead)
	if tot.LinesAbsent > 0 {
		fmt.Fprintf(&b, "Output: %s written but absent from the output files\n", plural(tot.LinesAbsent, "blob", "blobs"))
	}
	for _, rp := range repaired {
		fmt.Fprintf(&b, "Repaired %s: %s written (%d records)", rp.ContentType, plural(rp.Blobs, "blob", "blobs"), rp.Records)
		if rp.Failed > 0 {
			fmt.Fprintf(&b, ", %d failed again (pending)", rp.Failed)
		}
		if rp.Lost > 0 {
			fmt.Fprintf(&b, ", %d lost", rp.Lost)
		}
		b.WriteString("\n")
	}
	switch {
	case r.Incomplete():
		b.WriteString("Result: GAPS FOUND")
		if len(repaired) == 0 && tot.Missing+tot.Pending > 0 {
			b.WriteString(" (o365logfetch audit --repair fetches the missing and pending blobs)")
		}
		b.WriteString("\n")
	default:
		b.WriteString("Result: nothing missing\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func hourRangeExact(start, end time.Time) string {
	return start.UTC().Format("2006-01-02 15:04:05") + " – " + end.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = p[strings.LastIndexAny(p, `/\`)+1:]
	}
	return out
}

// JSON is the report as one object for scripts and tickets.
type JSON struct {
	Start       time.Time      `json:"start"`
	End         time.Time      `json:"end"`
	Unreachable *window.Window `json:"unreachable,omitempty"`
	Complete    bool           `json:"complete"` // nothing missing, everything listed
	Total       Counts         `json:"total"`
	Types       []JSONType     `json:"types"`
	Repaired    []Repaired     `json:"repaired,omitempty"`
}

// JSONType is one content type of JSON.
type JSONType struct {
	ContentType string `json:"contentType"`
	Counts
	Gaps       []JSONGap `json:"gaps"`
	PendingIDs []string  `json:"pendingContentIds,omitempty"`
	LostIDs    []string  `json:"lostContentIds,omitempty"`
	Unlisted   *JSONGap  `json:"unlisted,omitempty"`
	ListError  string    `json:"listError,omitempty"`
	Output     *JSONScan `json:"output,omitempty"`
}

// JSONGap is a period holding gaps.
type JSONGap struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Blobs int       `json:"blobs,omitempty"`
	IDs   []string  `json:"contentIds,omitempty"`
}

// JSONScan is the check of the output files.
type JSONScan struct {
	Checked    []string  `json:"checked"`
	NotChecked []string  `json:"notChecked,omitempty"`
	Absent     []JSONGap `json:"absent"`
	Unverified int       `json:"unverified,omitempty"`
}

// WriteJSON writes the report as one JSON object; verbose adds the content ids.
func (r *Result) WriteJSON(w io.Writer, verbose bool, repaired []Repaired) error {
	gaps := func(gs []Gap) []JSONGap {
		out := []JSONGap{}
		for _, g := range gs {
			j := JSONGap{Start: g.Start, End: g.End, Blobs: g.Blobs}
			if verbose {
				j.IDs = g.IDs
			}
			out = append(out, j)
		}
		return out
	}
	j := JSON{Start: r.Start, End: r.End, Unreachable: r.Unreachable, Complete: !r.Incomplete(), Total: r.Total(), Types: []JSONType{}, Repaired: repaired}
	for _, t := range r.Types {
		jt := JSONType{ContentType: t.ContentType, Counts: t.counts(), Gaps: gaps(t.Gaps), ListError: t.ListError}
		if verbose {
			jt.PendingIDs, jt.LostIDs = t.PendingIDs, t.LostIDs
		}
		if t.Unlisted != nil {
			jt.Unlisted = &JSONGap{Start: t.Unlisted.Start, End: t.Unlisted.End}
		}
		if s := t.Scan; s != nil {
			jt.Output = &JSONScan{Checked: baseNames(s.Checked), NotChecked: baseNames(s.NotChecked), Absent: gaps(s.AbsentGaps), Unverified: s.Unverified}
		}
		j.Types = append(j.Types, jt)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}

// Metrics renders the audit's gauges in the Prometheus text format: missing blobs per type
// (the one to alert on), and the other kinds.
func (r *Result) Metrics(finished time.Time) []byte {
	var b strings.Builder
	family := func(name, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}
	family("o365logfetch_audit_timestamp_seconds", "Unix time at which the last audit ended.")
	fmt.Fprintf(&b, "o365logfetch_audit_timestamp_seconds %d\n", finished.Unix())
	family("o365logfetch_audit_missing_blobs", "Blobs Microsoft lists that were never written, by content type, as of the last audit (0: no gap).")
	for _, t := range r.Types {
		fmt.Fprintf(&b, "o365logfetch_audit_missing_blobs{content_type=%q} %d\n", t.ContentType, t.Missing)
	}
	family("o365logfetch_audit_blobs", "Blobs of the audited period by kind: written, pending, missing, lost, ahead (not yet fetched), lines_absent (--scan-output).")
	for _, t := range r.Types {
		c := t.counts()
		for _, k := range []struct {
			kind string
			n    int
		}{{"written", c.Written}, {"pending", c.Pending}, {"missing", c.Missing}, {"lost", c.Lost}, {"ahead", c.Ahead}, {"lines_absent", c.LinesAbsent}} {
			fmt.Fprintf(&b, "o365logfetch_audit_blobs{content_type=%q,kind=%q} %d\n", t.ContentType, k.kind, k.n)
		}
	}
	family("o365logfetch_audit_unaudited", "1 when part of the period could not be listed for the content type.")
	for _, t := range r.Types {
		v := 0
		if t.Unlisted != nil {
			v = 1
		}
		fmt.Fprintf(&b, "o365logfetch_audit_unaudited{content_type=%q} %d\n", t.ContentType, v)
	}
	return []byte(b.String())
}
