package fetch

import (
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/layout"

	"github.com/o365logfetch/o365logfetch/internal/state"
	"github.com/o365logfetch/o365logfetch/internal/window"
)

// The range a type lists: from saved progress (or the old tool's time.log, or the initial
// lookback) to now, with the overlap before it, never past the 7-day edge; a backfill lists
// exactly its range.
func TestSpan(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	earliest := window.Earliest(now)
	const lookback, overlap = 6 * time.Hour, 30 * time.Minute
	tests := []struct {
		name              string
		saved, legacy     time.Time // saved end, time.log
		start, end        time.Time // backfill
		from, to, listFrm time.Time
		lost, problem     bool
	}{
		{name: "no progress: the initial lookback", from: now.Add(-lookback), to: now, listFrm: now.Add(-lookback - overlap)},
		{name: "saved progress", saved: now.Add(-2 * time.Hour), from: now.Add(-2 * time.Hour), to: now, listFrm: now.Add(-2*time.Hour - overlap)},
		{name: "the old tool's time.log", legacy: now.Add(-3 * time.Hour), from: now.Add(-3 * time.Hour), to: now, listFrm: now.Add(-3*time.Hour - overlap)},
		{name: "saved progress beats time.log", saved: now.Add(-time.Hour), legacy: now.Add(-3 * time.Hour), from: now.Add(-time.Hour), to: now, listFrm: now.Add(-time.Hour - overlap)},
		{name: "saved progress in the future", saved: now.Add(time.Hour), from: now, to: now, listFrm: now.Add(-overlap)},
		{name: "overlap stops at the 7-day edge", saved: earliest.Add(10 * time.Minute), from: earliest.Add(10 * time.Minute), to: now, listFrm: earliest},
		{name: "progress older than 7 days: lost and said", saved: now.Add(-8 * 24 * time.Hour), from: earliest, to: now, listFrm: earliest, lost: true, problem: true},
		{name: "backfill", start: now.Add(-72 * time.Hour), end: now.Add(-48 * time.Hour),
			from: now.Add(-72 * time.Hour), to: now.Add(-48 * time.Hour), listFrm: now.Add(-72 * time.Hour)},
		{name: "backfill ignores saved progress", saved: now.Add(-time.Hour), start: now.Add(-5 * time.Hour), end: now.Add(-4 * time.Hour),
			from: now.Add(-5 * time.Hour), to: now.Add(-4 * time.Hour), listFrm: now.Add(-5 * time.Hour)},
		{name: "backfill without end runs to now", start: now.Add(-2 * time.Hour), from: now.Add(-2 * time.Hour), to: now, listFrm: now.Add(-2 * time.Hour)},
		{name: "backfill end in the future is now", start: now.Add(-2 * time.Hour), end: now.Add(time.Hour), from: now.Add(-2 * time.Hour), to: now, listFrm: now.Add(-2 * time.Hour)},
		{name: "backfill from before 7 days: lost, not a problem", start: now.Add(-8 * 24 * time.Hour), end: now.Add(-6 * 24 * time.Hour),
			from: earliest, to: now.Add(-6 * 24 * time.Hour), listFrm: earliest, lost: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if !tt.legacy.IsZero() {
				if err := os.WriteFile(filepath.Join(dir, layout.LegacyStateFile), []byte(strconv.FormatInt(tt.legacy.Unix(), 10)), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			store, err := state.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			r := newRun(Options{Store: store, Types: []string{"Audit.General"}, InitialLookback: lookback, Overlap: overlap,
				Start: tt.start, End: tt.end, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
			tr := &typeRun{run: r, res: r.res.Types[0], problems: r.typeProblems["Audit.General"]}
			from, to, listFrom := tr.span(state.Type{End: tt.saved}, r.o.Log)
			if !from.Equal(tt.from) || !to.Equal(tt.to) || !listFrom.Equal(tt.listFrm) {
				t.Errorf("span = from %s to %s listing from %s\nwant from %s to %s listing from %s", from, to, listFrom, tt.from, tt.to, tt.listFrm)
			}
			if got := len(tr.res.Lost) > 0; got != tt.lost {
				t.Errorf("lost %v, want %v", tr.res.Lost, tt.lost)
			}
			if got := len(tr.problems.lines()) > 0; got != tt.problem {
				t.Errorf("problems %q, want some: %v", tr.problems.lines(), tt.problem)
			}
		})
	}
}
