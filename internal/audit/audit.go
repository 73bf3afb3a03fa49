// Package audit proves, with evidence, whether anything Microsoft still holds is missing from
// the output: it lists every blob of a period, as a fetch does, and looks each one up in what
// o365logfetch recorded (the blob ledger and the saved progress). It writes nothing.
package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/activity"
	"github.com/o365logfetch/o365logfetch/internal/dedup"
	"github.com/o365logfetch/o365logfetch/internal/state"
	"github.com/o365logfetch/o365logfetch/internal/window"
)

// Lister lists the blobs of a content type that became available in a window, page by page
// (activity.Client.List: paging, pacing and retries are its own).
type Lister interface {
	List(ctx context.Context, contentType string, w window.Window, fn func([]activity.Content) error) error
}

// Ledger says whether a blob was written, and in which hour (the blob ledger, read-only).
type Ledger interface {
	WrittenAt(dedup.Key) (time.Time, bool)
}

// Progress is the saved progress of a content type (read-only): its end and its pending blobs.
type Progress interface {
	Type(contentType string) state.Type
}

// Options describe one audit.
type Options struct {
	API      Lister
	Ledger   Ledger
	Progress Progress
	Types    []string // canonical content types
	// Start and End bound the period; Start is moved up to the oldest time Microsoft still
	// lists (the part before it is reported in Result.Unreachable).
	Start, End time.Time
	// Overlap is the trailing period before a type's saved end that the next cron run lists
	// again: a blob not yet written there is not a gap, the next run takes it.
	Overlap time.Duration
	Now     func() time.Time
	Log     *slog.Logger

	// ScanOutput checks the output files too: every written blob of the period must have its
	// lines in <OutDir>/<OutputName(type)>.log or a rotated file beside it.
	ScanOutput bool
	OutDir     string
	OutputName func(contentType string) string
	Download   Downloader // downloads a blob without a line of its own again (see Scan)
}

// Kind is what became of a blob.
type Kind int

const (
	Written Kind = iota // its lines are in the output (the ledger says so)
	Pending             // failed, kept in the state: the next run retries it
	Missing             // listed by Microsoft, never written: a gap
	Lost                // pending but expired: Microsoft no longer serves it, its records are lost
	Ahead               // at or past the type's saved progress: the next cron run fetches it
)

// Result is what an audit found.
type Result struct {
	Start, End  time.Time      // the period audited
	Unreachable *window.Window // the part of the period asked for that Microsoft no longer lists
	Types       []*TypeResult
}

// TypeResult is what an audit found for one content type.
type TypeResult struct {
	ContentType string
	Listed      int // blobs Microsoft listed in the period
	Written     int
	Pending     int
	Missing     int
	Lost        int
	Ahead       int
	// Gaps are the hours holding missing blobs, consecutive hours merged.
	Gaps []Gap
	// PendingIDs and LostIDs name the pending and lost blobs; Gaps name the missing ones.
	PendingIDs, LostIDs []string
	// Repair is what a backfill must list to fetch the missing and pending blobs: their hours,
	// merged.
	Repair []window.Window
	// Unlisted is the part of the period that could not be listed (ListError says why): the
	// audit proves nothing about it.
	Unlisted  *window.Window
	ListError string
	// Scan is the check of the output files (ScanOutput).
	Scan *Scan
}

// Gap is a run of whole hours holding missing blobs.
type Gap struct {
	Start, End time.Time
	Blobs      int
	IDs        []string
}

// Incomplete reports whether the audit cannot say the period is whole: blobs are missing or a
// part could not be listed.
func (r *Result) Incomplete() bool {
	for _, t := range r.Types {
		if t.Missing > 0 || t.Unlisted != nil || (t.Scan != nil && len(t.Scan.AbsentGaps) > 0) {
			return true
		}
	}
	return false
}

// Run audits every type of o in turn. Only an error that stops every type (authentication,
// permission, a cancelled context) is returned; a type whose listing fails says so in its
// result.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	now := o.Now().UTC().Truncate(time.Second)
	res := &Result{Start: o.Start.UTC().Truncate(time.Second), End: o.End.UTC().Truncate(time.Second)}
	if res.End.IsZero() || res.End.After(now) {
		res.End = now
	}
	if clamped, lost, ok := window.Clamp(res.Start, now); ok {
		if lost.End.After(res.End) {
			lost.End = res.End
		}
		res.Unreachable = &lost
		res.Start = clamped
	}
	for _, ct := range o.Types {
		tr, err := auditType(ctx, o, ct, res.Start, res.End, now)
		if err != nil {
			return res, err
		}
		res.Types = append(res.Types, tr)
	}
	return res, nil
}

// hours counts blobs by the hour they became available in, with their ids.
type hours map[time.Time][]string

func (h hours) add(created time.Time, id string) {
	hour := created.UTC().Truncate(time.Hour)
	h[hour] = append(h[hour], id)
}

// sorted returns the hours in order.
func (h hours) sorted() []time.Time {
	keys := make([]time.Time, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b time.Time) int { return a.Compare(b) })
	return keys
}

// gaps merges consecutive hours.
func (h hours) gaps() []Gap {
	var out []Gap
	for _, hour := range h.sorted() {
		ids := h[hour]
		slices.Sort(ids)
		if n := len(out); n > 0 && out[n-1].End.Equal(hour) {
			out[n-1].End = hour.Add(time.Hour)
			out[n-1].Blobs += len(ids)
			out[n-1].IDs = append(out[n-1].IDs, ids...)
			continue
		}
		out = append(out, Gap{Start: hour, End: hour.Add(time.Hour), Blobs: len(ids), IDs: ids})
	}
	return out
}

func auditType(ctx context.Context, o Options, ct string, start, end, now time.Time) (*TypeResult, error) {
	tr := &TypeResult{ContentType: ct}
	saved := o.Progress.Type(ct)
	ahead := time.Time{}
	if !saved.End.IsZero() {
		ahead = saved.End.Add(-o.Overlap)
	}
	written := func(id string) bool {
		if _, ok := saved.Known[id]; ok { // a ledger kept in the state by earlier builds
			return true
		}
		_, ok := o.Ledger.WrittenAt(dedup.KeyOf(id))
		return ok
	}
	missing, repair := hours{}, hours{}
	var lines map[dedup.Key]writtenBlob // written blobs whose lines are looked for
	if o.ScanOutput {
		lines = map[dedup.Key]writtenBlob{}
	}
	pendingSeen := map[string]bool{}
	classify := func(c activity.Content) {
		tr.Listed++
		created := c.Created()
		switch p, isPending := saved.Pending[c.ContentID]; {
		case written(c.ContentID):
			tr.Written++
			if lines != nil {
				lines[dedup.KeyOf(c.ContentID)] = writtenBlob{c: c, hour: created.Truncate(time.Hour)}
			}
		case isPending:
			pendingSeen[c.ContentID] = true
			if exp := (activity.Content{ContentCreated: p.ContentCreated, ContentExpiration: p.ContentExpiration}).Expiration(); !exp.IsZero() && !exp.After(now) {
				tr.Lost++
				tr.LostIDs = append(tr.LostIDs, c.ContentID)
				return
			}
			tr.Pending++
			tr.PendingIDs = append(tr.PendingIDs, c.ContentID)
			repair.add(created, c.ContentID)
		case !ahead.IsZero() && !created.Before(ahead):
			tr.Ahead++
		default:
			tr.Missing++
			missing.add(created, c.ContentID)
			repair.add(created, c.ContentID)
		}
	}

	// Listing entries may repeat within a window (a listing that starts over); windows do not
	// overlap, so remembering one window's blobs is enough, and memory stays that of a window.
	seen := map[dedup.Key]struct{}{}
	for _, w := range window.Split(start, end) {
		clear(seen)
		failed, err := activity.ListSplitting(ctx, o.API.List, ct, w, func(page []activity.Content) error {
			for _, c := range page {
				// A bad entry cannot be classified: the audit of the type stops at it.
				if _, err := c.Check(ct); err != nil {
					return fmt.Errorf("list %s %s: %w", ct, w, err)
				}
				k := dedup.KeyOf(c.ContentID)
				if _, ok := seen[k]; ok {
					continue
				}
				seen[k] = struct{}{}
				classify(c)
			}
			return nil
		}, func(refused window.Window, err error) {
			o.Log.Warn("the API refused a listing window; listing its halves instead",
				"content_type", ct, "window_start", refused.Start, "window_end", refused.End, "error", err)
		})
		if err != nil {
			// Only an answer of the API about this listing is the type's own problem; a
			// refused token, a permission, the network or a stop end the audit.
			var apiErr *activity.APIError
			if !errors.As(err, &apiErr) || activity.Fatal(err) || ctx.Err() != nil {
				return tr, err
			}
			tr.Unlisted = &window.Window{Start: failed, End: end}
			tr.ListError = err.Error()
			o.Log.Error("listing failed: the rest of the period is not audited", "content_type", ct, "from", failed, "error", err)
			break
		}
	}

	// Pending blobs the listing did not show: expired ones are lost, others stay pending.
	for id, p := range saved.Pending {
		if pendingSeen[id] || written(id) {
			continue
		}
		c := activity.Content{ContentID: id, ContentCreated: p.ContentCreated, ContentExpiration: p.ContentExpiration}
		created := c.Created()
		if created.Before(start) || !created.Before(end) {
			continue
		}
		if exp := c.Expiration(); !exp.IsZero() && !exp.After(now) {
			tr.Lost++
			tr.LostIDs = append(tr.LostIDs, id)
			continue
		}
		tr.Pending++
		tr.PendingIDs = append(tr.PendingIDs, id)
		repair.add(created, id)
	}
	if lines != nil {
		name := ct
		if o.OutputName != nil {
			name = o.OutputName(ct)
		}
		scan, err := scanOutput(ctx, o.Download, o.Ledger, o.OutDir, name, lines)
		if err != nil {
			return tr, fmt.Errorf("check the output of %s: %w", ct, err)
		}
		tr.Scan = scan
	}
	slices.Sort(tr.PendingIDs)
	slices.Sort(tr.LostIDs)
	tr.Gaps = missing.gaps()
	for _, g := range repair.gaps() {
		tr.Repair = append(tr.Repair, window.Window{Start: g.Start, End: g.End})
	}
	return tr, nil
}

// RepairWindows merges the repair windows of every type into the fewest windows, each with the
// types that have something to fetch in it: one backfill each.
func (r *Result) RepairWindows() []RepairWindow {
	var all []RepairWindow
	for _, t := range r.Types {
		for _, w := range t.Repair {
			all = append(all, RepairWindow{Window: w, Types: []string{t.ContentType}})
		}
	}
	slices.SortFunc(all, func(a, b RepairWindow) int { return a.Start.Compare(b.Start) })
	var out []RepairWindow
	for _, w := range all {
		if n := len(out); n > 0 && !w.Start.After(out[n-1].End) {
			last := &out[n-1]
			if w.End.After(last.End) {
				last.End = w.End
			}
			for _, ct := range w.Types {
				if !slices.Contains(last.Types, ct) {
					last.Types = append(last.Types, ct)
				}
			}
			continue
		}
		out = append(out, w)
	}
	return out
}

// RepairWindow is one backfill that repairs: a window and the types to fetch in it.
type RepairWindow struct {
	window.Window
	Types []string
}
