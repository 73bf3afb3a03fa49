// Package fetch is one run of o365logfetch: for every configured content type it works out the
// time range still to fetch, lists the blobs of that range, downloads the ones not yet written
// with a bounded pool of workers shared by all types, appends their records to the type's file,
// and moves the type's saved progress only past what is durably written.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/o365logfetch/o365logfetch/internal/activity"
	"github.com/o365logfetch/o365logfetch/internal/dedup"
	"github.com/o365logfetch/o365logfetch/internal/layout"
	"github.com/o365logfetch/o365logfetch/internal/localfs"
	"github.com/o365logfetch/o365logfetch/internal/sink"
	"github.com/o365logfetch/o365logfetch/internal/state"
	"github.com/o365logfetch/o365logfetch/internal/window"
)

// API is what a run asks of the Activity API; *activity.Client is one.
type API interface {
	Subscriptions(ctx context.Context) ([]activity.Subscription, error)
	Start(ctx context.Context, contentType string) (activity.Subscription, error)
	// List calls page with each page of the blobs that became available in w, in order.
	List(ctx context.Context, contentType string, w window.Window, page func([]activity.Content) error) error
	// Download calls read with the blob's body; read may be called again (a retry) and must
	// then start over.
	Download(ctx context.Context, c activity.Content, read func(io.Reader) error) error
}

// Store is the saved progress a run reads and moves; *state.Store is one.
type Store interface {
	Type(contentType string) state.Type
	Legacy() (end time.Time, ok bool)
	Snapshot() *state.State
	// Update changes the state and saves it durably before it returns.
	Update(now time.Time, fn func(*state.State)) error
}

// Options describe one run. Run does not change them.
type Options struct {
	API       API
	Store     Store
	OutDir    string // baseLogLocation: <OutDir>/<ContentType>.log, or the name in FileNames
	SpoolDir  string // where blobs too big for memory wait before they are appended
	Types     []string
	AutoStart bool
	Workers   int

	// FileNames names a content type's output file (without .log) when it is not the content
	// type itself: the type as the user spelled it in the config.
	FileNames map[string]string

	InitialLookback time.Duration // where a type without any saved progress starts
	Overlap         time.Duration // trailing period before the saved end that is listed again

	// Start and End, when Start is set, make the run a backfill of [Start, End): saved ends are
	// left alone, but what it writes is recorded so that later runs do not write it again.
	Start, End time.Time

	Now func() time.Time
	Log *slog.Logger
	// Detail hears what concerns one blob (a failure, a loss): many of them can come from one
	// cause, so they go to the debug log alone, and the run's result groups them by cause.
	// Nil: Log.
	Detail   *slog.Logger
	SpoolMem int // bytes of a blob's lines kept in memory before spilling to SpoolDir; default DefaultSpoolMem

	// RecordHorizon is how long record Ids are remembered: a record delivered again within it
	// is dropped, and records written just before a crash are not written twice. Zero means
	// DefaultRecordHorizon, negative turns record dedup off. The index lives in SpoolDir
	// (timeKeeperLocation).
	RecordHorizon time.Duration
	// MaxRecord refuses a blob holding a record larger than this many bytes (0: no limit).
	MaxRecord int

	// Progress, when set, hears of each type's period, of the listing as it advances, and of
	// every blob as it is queued and as it is written. It is called from many goroutines.
	Progress Progress
}

// Progress follows a run (for a progress display).
type Progress interface {
	// Period is the period a type lists, [from, to).
	Period(contentType string, from, to time.Time)
	// Listed says the type's listing has reached upTo.
	Listed(contentType string, upTo time.Time)
	// Queued and Written follow a blob by its contentCreated (zero for a blob left pending by
	// an earlier run outside the period).
	Queued(contentType string, created time.Time)
	Written(contentType string, created time.Time, records, bytes int64)
}

// BlobsHorizon is how long the ledger keeps a blob after writing it: as long as Microsoft may
// still list it.
const BlobsHorizon = window.Retention + time.Hour

// DefaultRecordHorizon: Microsoft re-delivers a record in another blob typically within hours;
// a day catches those while keeping the index small (20 bytes a record: a tenant writing a
// million records a day needs about 20 MB of memory and disk for it).
const DefaultRecordHorizon = 24 * time.Hour

// ErrIncomplete means some content could not be fetched in this run; what was fetched is saved
// and what failed is retried by the next run.
var ErrIncomplete = errors.New("some content could not be fetched")

// DefaultSpoolMem is how much of a blob's lines each of workers keeps in memory: 16 MiB for
// them all, so that memory does not grow with workers, but 256 KiB to 1 MiB each (most blobs
// are smaller; a larger one goes through a scratch file, which costs a copy more).
func DefaultSpoolMem(workers int) int {
	return min(max((16<<20)/max(workers, 1), 256<<10), 1<<20)
}

// Run fetches. It returns the per-type results, and an error that wraps ErrIncomplete when
// some content is missing, or another error when the run could not proceed at all.
func Run(ctx context.Context, o Options) (*Result, error) {
	r := newRun(o)
	err := r.do(ctx)
	// A fault met before or after the transfers (opening, repairing, recovering) says the
	// same as one met during them.
	var fault *localfs.FaultError
	if localfs.IsFault(err) && !errors.As(err, &fault) {
		err = localfs.NewFault(r.o.SpoolDir, r.what(err), err)
	}
	r.res.Duration = r.o.Now().Sub(r.res.Started)
	for _, tr := range r.res.Types {
		tr.Problems = r.typeProblems[tr.ContentType].lines()
	}
	if err == nil {
		err = r.res.err()
	}
	return r.res, err
}

// run is one run: the options with their defaults, and what the types share while they run.
type run struct {
	o   Options
	now time.Time // the run's time, to the second: windows, retention, index hours
	res *Result

	typeProblems map[string]*problems // by content type

	records *dedup.Index // records written recently; nil when record dedup is off
	blobs   *dedup.Index // the ledger: a blob listed again (overlap, backfill) is not downloaded again while Microsoft could still list it
	outs    *outputs

	pool   *errgroup.Group // the downloads of every type, Workers at a time
	spools chan *sink.Spool
	cancel context.CancelCauseFunc // stops the run; its cause is the run's error
}

func newRun(o Options) *run {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Detail == nil {
		o.Detail = o.Log
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.SpoolMem <= 0 {
		o.SpoolMem = DefaultSpoolMem(o.Workers)
	}
	if o.RecordHorizon == 0 {
		o.RecordHorizon = DefaultRecordHorizon
	}
	started := o.Now()
	r := &run{o: o, now: started.UTC().Truncate(time.Second), typeProblems: map[string]*problems{},
		res: &Result{Started: started, Backfill: !o.Start.IsZero()}}
	for _, ct := range o.Types {
		r.res.Types = append(r.res.Types, &TypeResult{ContentType: ct})
		r.typeProblems[ct] = &problems{}
	}
	return r
}

// do runs every ready type to its end and returns what stopped the run, if anything did.
func (r *run) do(ctx context.Context) error {
	o := r.o
	ready, err := r.subscriptions(ctx)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.cancel = cancel
	r.pool = &errgroup.Group{}
	r.pool.SetLimit(o.Workers)
	r.spools = make(chan *sink.Spool, o.Workers)
	for range o.Workers {
		r.spools <- sink.NewSpool(o.SpoolDir, o.SpoolMem)
	}
	defer func() {
		for range o.Workers {
			(<-r.spools).Close()
		}
	}()

	writers := map[string]*sink.Writer{}
	for _, tr := range r.res.Types {
		if !ready[tr.ContentType] {
			continue
		}
		name := tr.ContentType
		if n := o.FileNames[tr.ContentType]; n != "" {
			name = n
		}
		w, err := sink.Open(o.OutDir, name)
		if err != nil {
			return fmt.Errorf("output file for %s: %w", tr.ContentType, err)
		}
		defer w.Close()
		if n := w.Repaired(); n > 0 {
			o.Log.Warn("removed a partial last line left by an interrupted run", "file", w.Path(), "bytes", n)
		}
		writers[tr.ContentType] = w
	}
	r.outs = &outputs{writers: writers}
	if o.RecordHorizon > 0 {
		idx, err := dedup.Open(o.SpoolDir, o.RecordHorizon, r.now)
		if err != nil {
			return err
		}
		defer idx.Close()
		r.records = idx
	}
	blobs, err := dedup.OpenFile(o.SpoolDir, layout.BlobLedger, BlobsHorizon, r.now)
	if err != nil {
		return err
	}
	defer blobs.Close()
	r.blobs = blobs
	r.adoptLedger()
	if err := r.recoverTails(); err != nil {
		return err
	}

	var types sync.WaitGroup
	for _, tr := range r.res.Types {
		w := writers[tr.ContentType]
		if w == nil {
			continue
		}
		t := &typeRun{run: r, res: tr, problems: r.typeProblems[tr.ContentType], out: w}
		types.Go(func() { t.work(ctx) })
	}
	types.Wait()
	_ = r.pool.Wait() // workers report through their type; they never return errors

	var fault *localfs.FaultError
	if cause := context.Cause(ctx); !errors.As(cause, &fault) {
		// Compaction rewrites both files: not on a filesystem that just refused a write.
		if r.records != nil {
			if err := r.records.Compact(r.now, r.outs.sync); err != nil {
				o.Log.Warn("could not compact the record index; it stays valid and is compacted next run", "error", err)
			}
		}
		if err := r.blobs.Compact(r.now, r.outs.sync); err != nil {
			o.Log.Warn("could not compact the blob ledger; it stays valid and is compacted next run", "error", err)
		}
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		if fault != nil {
			o.Detail.Error("run stopped by a local storage fault", "dir", fault.Dir, "what", fault.What, "error", fault.Err, "free_bytes", fault.Free)
			return fault
		}
		return cause
	}
	return ctx.Err()
}

// subscriptions finds which types can be listed: enabled ones, plus missing or disabled ones
// that are started when autoStartSubscriptions allows it.
func (r *run) subscriptions(ctx context.Context) (map[string]bool, error) {
	o := r.o
	subs, err := o.API.Subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	status := map[string]string{}
	for _, s := range subs {
		status[s.ContentType] = s.Status
	}
	ready := map[string]bool{}
	for _, tr := range r.res.Types {
		ct := tr.ContentType
		switch st := status[ct]; {
		case st == "enabled":
			ready[ct] = true
		case o.AutoStart:
			if _, err := o.API.Start(ctx, ct); err != nil {
				if activity.Fatal(err) {
					return nil, err
				}
				r.typeProblems[ct].fail(fmt.Errorf("subscription of %s could not be started: %w", ct, err))
				continue
			}
			o.Log.Warn("started the subscription; Microsoft may take up to 12 hours to publish its first content", "content_type", ct)
			ready[ct] = true
		default:
			what := "no subscription"
			if st != "" {
				what = "subscription is " + st
			}
			r.typeProblems[ct].fail(fmt.Errorf("%s has %s: set autoStartSubscriptions = True or run 'o365logfetch subscriptions start %s'", ct, what, ct))
		}
	}
	return ready, nil
}

// Result is what a run did.
type Result struct {
	Started  time.Time
	Duration time.Duration
	Backfill bool
	Types    []*TypeResult
}

// TypeResult is what a run did for one content type.
type TypeResult struct {
	ContentType string
	From, To    time.Time // the range listed, overlap included
	Windows     int
	Listed      int // blobs listed
	Known       int // listed but already written by an earlier run
	Fetched     int // blobs written by this run
	Records     int64
	Duplicates  int64 // records dropped because they were written before
	Bytes       int64
	Newest      time.Time // newest contentCreated written
	End         time.Time // saved end after the run (cron runs)

	Failed  []string // contentIds that stay pending
	Expired []string // contentIds that expired before they could be fetched
	Lost    []window.Window
	// Problems says what went wrong, one line each: problems of the type, then one line per
	// cause of blob failures with its count and a few content ids. The list is bounded.
	Problems []string
}

// problems gathers what goes wrong for one type while it runs, from many goroutines.
type problems struct {
	mu       sync.Mutex
	failures []string // one line per problem not tied to one blob
	causes   []*blobCause
}

func (p *problems) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures = append(p.failures, err.Error())
}

// blobCause is one cause of blob failures: how many blobs it failed and the first few of them.
type blobCause struct {
	msg   string
	first string // the error of the first blob, as it was
	count int
	ids   []string
}

// Bounds of the problem list: however many blobs fail, a cron mail or a summary stays short.
// The debug log names every blob.
const (
	maxCauses     = 8 // distinct causes listed per type
	idsPerCause   = 3 // content ids named per cause
	stoppedReason = "not fetched: the run stopped before it could be"
)

// failBlobCause counts a failed blob under its cause: the error's text with the blob's own id
// and URI taken out, so that one cause met by many blobs is one line.
func (p *problems) failBlob(id, uri string, err error) {
	first := err.Error()
	msg := first
	if uri != "" {
		msg = strings.ReplaceAll(msg, uri, "<contentUri>")
	}
	if id != "" {
		msg = strings.ReplaceAll(msg, id, "<contentId>")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.causes {
		if c.msg == msg {
			c.count++
			if len(c.ids) < idsPerCause {
				c.ids = append(c.ids, id)
			}
			return
		}
	}
	p.causes = append(p.causes, &blobCause{msg: msg, first: first, count: 1, ids: []string{id}})
}

// lines are the problems as TypeResult.Problems lists them.
func (p *problems) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := append([]string(nil), p.failures...)
	otherBlobs, otherCauses := 0, 0
	for i, c := range p.causes {
		if i >= maxCauses {
			otherBlobs += c.count
			otherCauses++
			continue
		}
		if c.count == 1 {
			out = append(out, "blob "+c.ids[0]+": "+c.first)
			continue
		}
		eg := strings.Join(c.ids, ", ")
		if c.count > len(c.ids) {
			eg += ", …"
		}
		out = append(out, fmt.Sprintf("%d blobs: %s (%s)", c.count, c.msg, eg))
	}
	if otherCauses > 0 {
		out = append(out, fmt.Sprintf("%d more blobs failed for %d other causes: debug.log names each", otherBlobs, otherCauses))
	}
	return out
}

func (r *Result) err() error {
	var lines []string
	for _, t := range r.Types {
		for _, p := range t.Problems {
			lines = append(lines, t.ContentType+": "+p)
		}
	}
	if len(lines) == 0 {
		return nil
	}
	sort.Strings(lines)
	return fmt.Errorf("%w:\n  %s", ErrIncomplete, strings.Join(lines, "\n  "))
}

// outputs are all output files of a run. Before the record index may claim records as
// written, every file is fsynced: the index is shared by all types.
type outputs struct {
	mu      sync.Mutex
	writers map[string]*sink.Writer
}

func (o *outputs) sync() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, w := range o.writers {
		if err := w.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", w.Path(), err)
		}
	}
	return nil
}

// adoptLedger moves a ledger kept in the state file (by earlier builds) into the blob ledger;
// the next save of each type leaves it out of the state.
func (r *run) adoptLedger() {
	for _, t := range r.o.Store.Snapshot().Types {
		keys := make([]dedup.Key, 0, len(t.Known))
		for id := range t.Known {
			keys = append(keys, dedup.KeyOf(id))
		}
		r.blobs.Remember(keys, r.now)
	}
}

// flushIndexes makes the blob ledger and the record index durable, both only for what was
// committed before the outputs were fsynced (each takes its batch before calling the next).
func (r *run) flushIndexes() error {
	sync := r.outs.sync
	if r.records != nil {
		sync = func() error { return r.records.Flush(r.outs.sync) }
	}
	return r.blobs.Flush(sync)
}
