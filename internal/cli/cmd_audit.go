package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/exit"
	"github.com/o365logfetch/o365logfetch/internal/layout"

	"github.com/o365logfetch/o365logfetch/internal/atomicfile"
	"github.com/o365logfetch/o365logfetch/internal/audit"
	"github.com/o365logfetch/o365logfetch/internal/config"
	"github.com/o365logfetch/o365logfetch/internal/dedup"
	"github.com/o365logfetch/o365logfetch/internal/fetch"
	"github.com/o365logfetch/o365logfetch/internal/state"
	"github.com/o365logfetch/o365logfetch/internal/window"
)

const auditUsage = `Usage:
  o365logfetch audit [flags] [TYPE...]

audit lists every blob Microsoft still holds for the period (at most the last 7 days) and says,
for each configured content type (or those named), which were written, which are pending (failed,
the next run retries them), which are missing (a gap), which were lost (expired while pending)
and which are not yet fetched (past the saved progress: the next cron run takes them). Gaps are
grouped by the hour the blobs became available. It writes nothing but its report and can run
beside a cron run.

Flags:
  --since DURATION  audit the last DURATION (72h, 7d; default: 7d, all Microsoft keeps)
  --start TIME      audit from TIME (forms as for a backfill; -s, --start_time too)
  --end TIME        audit until TIME (default: now; -e, --end_time too)
  --repair          fetch the missing and pending blobs (a backfill of their hours, under the
                    run lock: blobs already written are skipped, cron progress stays), then
                    audit again and report what was fixed
  --scan-output     also read the output files: every written blob must have its lines there
                    (rotated files that cannot be read are named as not checked)
  -v, --verbose     name every missing, pending and lost blob by its contentId
  --summary FORMAT  "text" (default) or "json": one JSON object on stdout
  --metrics-file FILE
                    replace FILE with the audit's Prometheus metrics (missing blobs per type)
  --config FILE     config file (default: $O365_MANAGEMENT_API_CONFIG, else ./o365_logs.cfg)
  --env-file FILE   .env file to read (default: ./.env when present)
  -h, --help        show this help

Exit codes: 0 nothing missing · 1 blobs missing (or a period could not be listed, or with
--scan-output written blobs absent from the output) · 2 usage or configuration error ·
3 authentication or permission error · 4 (--repair) another run holds the lock ·
5 (--repair) a local storage fault stopped the repair
`

// auditOptions are audit's command line.
type auditOptions struct {
	configPath, envFile string
	since               time.Duration
	start, end          string
	types               []string
	repair, scanOutput  bool
	verbose             bool
	summary             string
	metricsFile         string
}

// parseAudit reads audit's flags (before or after the content types); it touches nothing.
func parseAudit(args []string, helpOut io.Writer) (auditOptions, error) {
	o := auditOptions{summary: "text"}
	var since string
	fs := flag.NewFlagSet("o365logfetch audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.configPath, "config", "", "")
	fs.StringVar(&o.envFile, "env-file", "", "")
	fs.StringVar(&since, "since", "", "")
	for _, name := range []string{"start", "s", "start_time"} {
		fs.StringVar(&o.start, name, "", "")
	}
	for _, name := range []string{"end", "e", "end_time"} {
		fs.StringVar(&o.end, name, "", "")
	}
	fs.BoolVar(&o.repair, "repair", false, "")
	fs.BoolVar(&o.scanOutput, "scan-output", false, "")
	fs.BoolVar(&o.verbose, "v", false, "")
	fs.BoolVar(&o.verbose, "verbose", false, "")
	fs.StringVar(&o.summary, "summary", "text", "")
	fs.StringVar(&o.metricsFile, "metrics-file", "", "")
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(helpOut, auditUsage)
				return o, err
			}
			return o, &usageError{"audit: " + err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		o.types = append(o.types, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if o.summary != "text" && o.summary != "json" {
		return o, &usageError{fmt.Sprintf("--summary %q: want text or json", o.summary)}
	}
	if since != "" {
		if o.start != "" || o.end != "" {
			return o, &usageError{"--since and --start/--end both set the period: give one"}
		}
		d, err := parseSince(since)
		if err != nil {
			return o, &usageError{"--since: " + err.Error()}
		}
		o.since = d
	}
	if o.end != "" && o.start == "" {
		return o, &usageError{"--end needs --start"}
	}
	return o, nil
}

// parseSince reads a duration in Go's form (72h, 90m) or whole days (7d).
func parseSince(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("%q: want a duration such as 72h or 7d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q: want a duration such as 72h or 7d", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: want a positive duration", s)
	}
	return d, nil
}

// period is the audited [start, end) at now.
func (o auditOptions) period(now time.Time) (start, end time.Time, err error) {
	if o.start != "" {
		bf, err := parseBackfill(o.start, o.end, now)
		return bf.Start, bf.End, err
	}
	since := o.since
	if since == 0 {
		since = window.Retention
	}
	now = now.UTC().Truncate(time.Second)
	return now.Add(-since), now, nil
}

// gapsError is an audit that found blobs missing (or could not list a period).
type gapsError struct{ msg string }

func (e *gapsError) Error() string { return e.msg }

// ExitCode is 1: something is missing; audit --repair or the next run fetches it.
func (e *gapsError) ExitCode() exit.Code { return exit.Incomplete }

func (a App) auditCmd(ctx context.Context, args []string) error {
	o, err := parseAudit(args, a.Stdout)
	if err != nil {
		return err
	}
	start, end, err := o.period(a.Now())
	if err != nil {
		return err
	}
	cfg, err := a.loadConfig(o.configPath, o.envFile)
	if err != nil {
		return err
	}
	types := cfg.ContentTypes
	if len(o.types) > 0 {
		if types, err = pickTypes(o.types, nil); err != nil {
			return err
		}
	}
	if o.metricsFile != "" {
		if fi, err := os.Stat(filepath.Dir(o.metricsFile)); err != nil || !fi.IsDir() {
			return &usageError{fmt.Sprintf("--metrics-file %s: its directory does not exist", o.metricsFile)}
		}
	}
	s, err := a.connect(cfg)
	if err != nil {
		return err
	}
	defer s.close()
	opts := audit.Options{
		API: s.api, Types: types, Start: start, End: end, Overlap: cfg.Overlap, Now: a.Now, Log: s.log,
		ScanOutput: o.scanOutput, OutDir: cfg.BaseLogDir, OutputName: cfg.OutputName, Download: s.api,
	}
	s.log.Info("audit started", "content_types", types, "start", start, "end", end, "repair", o.repair, "scan_output", o.scanOutput)
	res, err := a.auditOnce(ctx, cfg, opts)
	if err != nil {
		return err
	}
	var repaired []audit.Repaired
	if o.repair && len(res.RepairWindows()) > 0 {
		if repaired, err = a.repair(ctx, cfg, s, res); err != nil {
			return err
		}
		if res, err = a.auditOnce(ctx, cfg, opts); err != nil {
			return err
		}
	}
	if o.summary == "json" {
		err = res.WriteJSON(a.Stdout, o.verbose, repaired)
	} else {
		err = res.Text(a.Stdout, o.verbose, repaired)
	}
	if err != nil {
		return err
	}
	if o.metricsFile != "" {
		if err := atomicfile.WriteFile(o.metricsFile, res.Metrics(a.Now()), 0o644); err != nil {
			s.log.Warn("metrics not written", "error", fmt.Errorf("metrics file: %w", err))
		}
	}
	tot := res.Total()
	s.log.Info("audit done", "listed", tot.Listed, "written", tot.Written, "pending", tot.Pending,
		"missing", tot.Missing, "lost", tot.Lost, "ahead", tot.Ahead, "lines_absent", tot.LinesAbsent)
	if res.Incomplete() {
		return &gapsError{fmt.Sprintf("audit found gaps: %d blobs missing, %d written blobs absent from the output, %d types not wholly listed",
			tot.Missing, tot.LinesAbsent, unlisted(res))}
	}
	return nil
}

func unlisted(res *audit.Result) int {
	n := 0
	for _, t := range res.Types {
		if t.Unlisted != nil {
			n++
		}
	}
	return n
}

// auditOnce audits with a read-only view of the saved progress and of the ledger, as they are
// now: it takes no lock, so a cron run may be writing beside it. The progress is read first: a
// run makes the ledger durable before the progress that relies on it, so every blob behind the
// progress read is in the ledger read after it.
func (a App) auditOnce(ctx context.Context, cfg *config.Config, opts audit.Options) (*audit.Result, error) {
	store, err := state.Open(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	ledger, err := dedup.View(filepath.Join(cfg.StateDir, layout.BlobLedger), os.TempDir(), fetch.BlobsHorizon, a.Now())
	if err != nil {
		return nil, err
	}
	defer ledger.Close()
	opts.Ledger, opts.Progress = ledger, store
	return audit.Run(ctx, opts)
}

// repair fetches the missing and pending blobs of res: one backfill of each window that holds
// some, under the run lock, with every guarantee of a fetch. A backfill skips the blobs the
// ledger holds, retries the pending ones and leaves the saved progress alone.
func (a App) repair(ctx context.Context, cfg *config.Config, s *session, res *audit.Result) ([]audit.Repaired, error) {
	lock, err := state.Lock(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	store, err := state.Open(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	byType := map[string]*audit.Repaired{}
	var order []string
	for _, w := range res.RepairWindows() {
		opts := a.fetchOptions(cfg, s, store, backfill{Start: w.Start, End: w.End}, nil)
		opts.Types = w.Types
		s.log.Info("repair: backfill", "content_types", w.Types, "start", w.Start, "end", w.End)
		fr, err := fetch.Run(ctx, opts)
		if fr != nil {
			for _, t := range fr.Types {
				r := byType[t.ContentType]
				if r == nil {
					r = &audit.Repaired{ContentType: t.ContentType}
					byType[t.ContentType] = r
					order = append(order, t.ContentType)
				}
				r.Blobs += t.Fetched
				r.Records += t.Records
				r.Failed += len(t.Failed)
				r.Lost += len(t.Expired)
			}
		}
		if err != nil && !errors.Is(err, fetch.ErrIncomplete) {
			return nil, err
		}
		if err != nil {
			s.log.Warn("repair: some blobs could not be fetched; they stay pending", "error", err)
		}
	}
	out := make([]audit.Repaired, 0, len(order))
	for _, ct := range order {
		out = append(out, *byType[ct])
	}
	return out, nil
}
