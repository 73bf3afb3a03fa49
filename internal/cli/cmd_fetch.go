package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/term"

	"github.com/o365logfetch/o365logfetch/internal/config"
	"github.com/o365logfetch/o365logfetch/internal/fetch"
	"github.com/o365logfetch/o365logfetch/internal/report"
	"github.com/o365logfetch/o365logfetch/internal/state"
)

// fetch runs one fetch (a cron run, or a backfill when bf is set) and reports on it: the
// summary in the debug log, on a terminal or as JSON, and the metrics file. Under cron nothing
// but warnings and errors is printed: cron mails any output.
func (a App) fetch(ctx context.Context, cfg *config.Config, bf backfill, o fetchOptions) error {
	if o.metricsFile != "" {
		// Found now rather than after a long run whose metrics could not be written.
		if fi, err := os.Stat(filepath.Dir(o.metricsFile)); err != nil || !fi.IsDir() {
			return &usageError{fmt.Sprintf("--metrics-file %s: its directory does not exist", o.metricsFile)}
		}
	}
	stderr := a.Stderr
	terminal := isTerminal(stderr)
	var bar *report.Bar
	var progress fetch.Progress
	if terminal && !o.quiet {
		bar = report.NewBar(stderr)
		progress = bar
		a.Stderr = bar.Writer() // log lines during the run must not be drawn into the bar
	}

	r := a.runFetch(ctx, cfg, bf, progress)
	defer r.close()
	if bar != nil {
		bar.Close()
	}
	if ctx.Err() != nil && errors.Is(r.err, context.Canceled) {
		r.err = stopped(r.err, bf)
	}

	log := newLogger(io.Discard, slog.LevelInfo, stderr) // the run stopped before debug.log was open
	if r.session != nil {
		log = r.session.log
	}
	var savedEnd func(string) time.Time
	if r.store != nil {
		savedEnd = func(ct string) time.Time { return r.store.Type(ct).End }
	}
	sum := report.New(r.res, savedEnd, exitCode(r.err), r.err, a.Now())
	sum.Log(log)
	switch {
	case o.summary == "json":
		if err := sum.JSON(a.Stdout); err != nil {
			log.Warn("summary not printed", "error", err)
		}
	case r.res == nil: // the error printed by Run says it all
	case o.summary == "text", o.summary == "" && terminal && !o.quiet:
		_ = sum.Text(stderr)
	}
	if o.metricsFile != "" {
		// The fetch itself is done and saved: a metrics file that cannot be written is
		// worth a warning, not a different exit code. Monitoring sees the file go stale.
		if err := report.WriteMetrics(o.metricsFile, sum); err != nil {
			log.Warn("metrics not written", "error", err)
		}
	}
	return r.err
}

// stoppedError is a run ended by a signal (SIGINT, SIGTERM): what it wrote is saved.
type stoppedError struct {
	err  error
	hint string
}

func (e *stoppedError) Error() string {
	return "stopped by a signal: everything written so far is saved; " + e.hint
}
func (e *stoppedError) Unwrap() error { return e.err }

func stopped(err error, bf backfill) error {
	hint := "the next run continues where this one stopped"
	if !bf.Start.IsZero() {
		hint = fmt.Sprintf("to continue, run the same backfill again (--start %s --end %s): blobs already written are skipped",
			bf.Start.UTC().Format(time.RFC3339), bf.End.UTC().Format(time.RFC3339))
	}
	return &stoppedError{err: err, hint: hint}
}

// fetchRun is a finished fetch; its session stays open (debug.log) until the report is done.
type fetchRun struct {
	session *session
	res     *fetch.Result
	store   *state.Store
	err     error
}

func (r fetchRun) close() {
	if r.session != nil {
		r.session.close()
	}
}

func (a App) runFetch(ctx context.Context, cfg *config.Config, bf backfill, progress fetch.Progress) (r fetchRun) {
	s, err := a.connect(cfg)
	if err != nil {
		r.err = err
		return r
	}
	r.session = s
	lock, err := state.Lock(cfg.StateDir)
	if err != nil {
		r.err = err
		return r
	}
	defer lock.Unlock()
	if r.store, r.err = state.Open(cfg.StateDir); r.err != nil {
		return r
	}
	if end, ok := r.store.Legacy(); ok {
		s.log.Info("no state file yet: continuing from the previous tool's time.log", "end", end)
	}
	warnLowSpace(s.log, cfg)
	s.log.Info("run started", "config", cfg.File, "content_types", cfg.ContentTypes, "backfill", !bf.Start.IsZero())
	r.res, r.err = fetch.Run(ctx, a.fetchOptions(cfg, s, r.store, bf, progress))
	return r
}

// fetchOptions are the options of a fetch (a cron run, or a backfill when bf is set) with cfg.
func (a App) fetchOptions(cfg *config.Config, s *session, store *state.Store, bf backfill, progress fetch.Progress) fetch.Options {
	return fetch.Options{
		API:             s.api,
		Store:           store,
		OutDir:          cfg.BaseLogDir,
		FileNames:       cfg.FileNames,
		SpoolDir:        cfg.StateDir,
		Types:           cfg.ContentTypes,
		AutoStart:       cfg.AutoStart,
		Workers:         cfg.Workers,
		InitialLookback: cfg.InitialLookback,
		Overlap:         cfg.Overlap,
		RecordHorizon:   recordHorizon(cfg.RecordHorizon),
		MaxRecord:       cfg.MaxRecordBytes,
		Start:           bf.Start,
		End:             bf.End,
		Now:             a.Now,
		Log:             s.log,
		Detail:          s.detail,
		Progress:        progress,
	}
}

// isTerminal is true when w is a terminal; only an *os.File can be one.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// recordHorizon maps the config's "0 = off" to fetch's "negative = off".
func recordHorizon(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
