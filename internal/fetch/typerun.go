package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/activity"
	"github.com/o365logfetch/o365logfetch/internal/blob"
	"github.com/o365logfetch/o365logfetch/internal/dedup"
	"github.com/o365logfetch/o365logfetch/internal/layout"
	"github.com/o365logfetch/o365logfetch/internal/localfs"
	"github.com/o365logfetch/o365logfetch/internal/sink"
	"github.com/o365logfetch/o365logfetch/internal/state"
	"github.com/o365logfetch/o365logfetch/internal/window"
)

// edgeWarning is how close to the 7-day edge a type's progress may get before we warn.
const edgeWarning = 24 * time.Hour

// pinFor is how long a failing blob holds its type's saved end back.
const pinFor = 24 * time.Hour

// commitEvery bounds how much a crash can make the next run fetch again.
const commitEvery = 10 * time.Second

// commitKeys bounds the record keys waiting for a commit (20 bytes each), so that memory does
// not grow with a run's volume.
const commitKeys = 1 << 16

// blobClaim reserves a blob in the ledger while it is fetched.
type blobClaim struct {
	key   dedup.Key
	owner uint64
}

// typeRun fetches one content type.
type typeRun struct {
	*run
	res      *TypeResult
	problems *problems
	out      *sink.Writer

	queued  sync.WaitGroup           // blobs queued by this type
	seen    map[string]bool          // contentIds handled in this run (listing may repeat an entry)
	pending map[string]state.Pending // blobs pending from earlier runs (read only)

	commitMu sync.Mutex // one commit of the type at a time
	// appendMu is held for reading from a blob's append to its records in the indexes, and
	// for writing while a commit reads the output file's size (see appendBlob).
	appendMu sync.RWMutex

	mu         sync.Mutex
	done       map[string]time.Time // written since the last commit: contentId → expiration
	failed     map[string]state.Pending
	gone       map[string]bool // pending blobs that expired: drop them from the state
	oldest     time.Time       // earliest contentCreated of a blob that failed
	lastCommit time.Time
}

func (r *typeRun) work(ctx context.Context) {
	ct := r.res.ContentType
	log := r.o.Log.With("content_type", ct)
	saved := r.o.Store.Type(ct)
	r.pending = saved.Pending
	r.seen = map[string]bool{}
	r.done = map[string]time.Time{}
	r.failed = map[string]state.Pending{}
	r.gone = map[string]bool{}
	r.lastCommit = time.Now()

	from, to, listFrom := r.span(saved, log)
	r.res.From, r.res.To = listFrom, to

	windows := window.Split(listFrom, to)
	r.res.Windows = len(windows)
	listedTo := to
	progress := r.o.Progress
	if progress != nil {
		progress.Period(ct, listFrom, to)
	}
	for _, w := range windows {
		if failed, err := r.listWindow(ctx, w); err != nil {
			if activity.Fatal(err) {
				r.cancel(err)
			}
			if ctx.Err() == nil { // a stopped run says why once, not once per type
				r.problems.fail(err)
			}
			listedTo = failed
			break
		}
	}
	// Blobs left pending by earlier runs, unless the listing just offered them again: a fresh
	// listing entry beats the stored one (its contentUri may have changed).
	r.retryPending(ctx, saved, r.o.Detail.With("content_type", ct))
	r.queued.Wait()

	// The saved end never passes content that is not durably written: not a window that could
	// not be listed, not a blob that failed (it is also kept pending by id). It never moves back.
	var end time.Time
	if r.o.Start.IsZero() {
		end = from
		if ctx.Err() == nil {
			end = listedTo
			if !r.oldest.IsZero() && r.oldest.Before(end) {
				end = r.oldest.Truncate(time.Second)
			}
			if end.Before(from) {
				end = from
			}
		}
	}
	if err := r.commit(end); err != nil {
		if !r.stopOnFault(err) {
			r.problems.fail(err)
		}
		return
	}
	if !end.IsZero() {
		r.res.End = end
	}
}

// span works out the range to list: from is where progress stands (or the backfill start),
// listFrom adds the overlap, to is now (or the backfill end).
func (r *typeRun) span(saved state.Type, log interface {
	Warn(string, ...any)
	Error(string, ...any)
}) (from, to, listFrom time.Time) {
	to = r.now
	if !r.o.Start.IsZero() {
		from = r.o.Start.UTC()
		if !r.o.End.IsZero() && r.o.End.Before(to) {
			to = r.o.End.UTC()
		}
		listFrom = from
	} else {
		from = saved.End
		if from.IsZero() {
			if legacy, ok := r.o.Store.Legacy(); ok {
				from = legacy
			} else {
				from = r.now.Add(-r.o.InitialLookback)
			}
		}
		if from.After(to) {
			log.Warn("saved progress lies in the future: is the clock right?", "end", from)
			from = to
		}
		listFrom = from.Add(-r.o.Overlap)
	}
	earliest := window.Earliest(r.now)
	if clamped, lost, ok := window.Clamp(from, r.now); ok {
		r.res.Lost = append(r.res.Lost, lost)
		msg := fmt.Sprintf("content that became available in %s can no longer be fetched: Microsoft keeps it for 7 days only", lost)
		if r.o.Start.IsZero() {
			log.Error(msg)
			r.problems.fail(errors.New(msg))
		} else {
			log.Warn(msg)
		}
		from = clamped
	} else if r.o.Start.IsZero() && from.Before(earliest.Add(edgeWarning)) {
		log.Warn("progress is within a day of the 7-day edge: content older than the edge is lost for good; run more often or check why runs fail", "end", from)
	}
	if listFrom.Before(earliest) {
		listFrom = earliest
	}
	if listFrom.Before(from) && !r.o.Start.IsZero() {
		listFrom = from
	}
	return from, to, listFrom
}

// retryPending queues the blobs that failed in earlier runs, and reports those that expired.
func (r *typeRun) retryPending(ctx context.Context, saved state.Type, log interface{ Error(string, ...any) }) {
	for id, p := range saved.Pending {
		c := activity.Content{ContentType: r.res.ContentType, ContentID: id, ContentURI: p.ContentURI,
			ContentCreated: p.ContentCreated, ContentExpiration: p.ContentExpiration}
		exp := c.Expiration()
		if exp.IsZero() && !p.FirstFailure.IsZero() {
			// Listed without a readable date: no content outlives the retention period
			// counted from its first failure.
			exp = p.FirstFailure.Add(window.Retention)
		}
		if !exp.IsZero() && !exp.After(r.now) {
			r.expired(c, log)
			continue
		}
		if c.ContentURI == "" { // listed without one: nothing to download
			if !r.seen[id] {
				r.seen[id] = true
				r.failBlob(c, errNoURI)
			}
			continue
		}
		r.offer(ctx, c, false)
	}
}

func (r *typeRun) expired(c activity.Content, log interface{ Error(string, ...any) }) {
	r.lost(c, "expired before it could be fetched", log)
}

// lost reports a blob whose records cannot be had any more, and drops it from the pending
// list: retrying cannot help.
func (r *typeRun) lost(c activity.Content, why string, log interface{ Error(string, ...any) }) {
	msg := fmt.Sprintf("blob %s (available since %s) %s: its records are lost", c.ContentID, c.ContentCreated, why)
	log.Error(msg)
	r.problems.failBlob(c.ContentID, "", errors.New(why+": its records are lost"))
	r.mu.Lock()
	r.res.Expired = append(r.res.Expired, c.ContentID)
	r.gone[c.ContentID] = true
	r.mu.Unlock()
}

// offer queues a listed blob unless it was written before or is already queued. listed is
// false for a blob left pending by an earlier run and not listed again.
func (r *typeRun) offer(ctx context.Context, c activity.Content, listed bool) {
	if r.seen[c.ContentID] {
		return
	}
	r.seen[c.ContentID] = true
	r.res.Listed++
	claim := blobClaim{key: dedup.KeyOf(c.ContentID), owner: nextOwner.Add(1)}
	if !r.blobs.Claim(claim.key, claim.owner) {
		r.res.Known++
		// Written by a run that stopped after the ledger knew the blob but before the state
		// did: it is pending no longer (kept, it would be reported lost when it expires).
		if _, ok := r.pending[c.ContentID]; ok {
			r.mu.Lock()
			r.done[c.ContentID] = c.Expiration()
			r.mu.Unlock()
		}
		return
	}
	var created time.Time
	if listed {
		created = c.Created()
	}
	if r.o.Progress != nil {
		r.o.Progress.Queued(r.res.ContentType, created)
	}
	r.queued.Add(1)
	r.pool.Go(func() error {
		defer r.queued.Done()
		r.fetch(ctx, c, claim, created)
		return nil
	})
}

// fetch downloads one blob into a spool and appends it to the output file in one piece.
func (r *typeRun) fetch(ctx context.Context, c activity.Content, claim blobClaim, created time.Time) {
	written := false
	defer func() {
		if !written { // free for the retry
			r.blobs.Release([]dedup.Key{claim.key}, claim.owner)
		}
	}()
	if ctx.Err() != nil {
		r.failBlob(c, errStopped)
		return
	}
	sp := <-r.spools
	defer func() { r.spools <- sp }()
	// contentType is the canonical name of the type listed: the live service may spell it
	// otherwise in a listing entry (Audit.Sharepoint), and a SIEM filters on the name.
	meta := blob.Meta{ContentURI: c.ContentURI, ContentID: c.ContentID, ContentType: r.res.ContentType,
		ContentCreated: c.ContentCreated, ContentExpiration: c.ContentExpiration}
	opts := blob.Options{MaxRecord: r.o.MaxRecord}
	var cl *claims
	if r.records != nil {
		cl = newClaims(r.records)
		opts.Keep = cl.keep
	}
	var records int
	err := r.o.API.Download(ctx, c, func(body io.Reader) error {
		if err := sp.Reset(); err != nil {
			return err
		}
		if cl != nil {
			cl.reset()
		}
		n, err := blob.LinesWith(body, meta, sp, opts)
		records = n
		return err
	})
	if err == nil {
		var rd io.Reader
		if rd, err = sp.Reader(); err == nil {
			err = r.appendBlob(c, rd, cl, claim)
		}
	} else if cl != nil {
		cl.release()
	}
	if cl != nil {
		r.mu.Lock()
		r.res.Duplicates += int64(cl.dropped)
		r.mu.Unlock()
	}
	written = err == nil
	switch {
	case err == nil:
		r.written(c, created, int64(records), sp.Len())
	case activity.HasCode(err, activity.CodeContentExpired):
		r.expired(c, r.o.Detail.With("content_type", r.res.ContentType))
	case activity.HasCode(err, activity.CodeContentUnknown):
		r.lost(c, "is unknown to the API (AF20052)", r.o.Detail.With("content_type", r.res.ContentType))
	default:
		if activity.Fatal(err) {
			r.cancel(err)
		}
		r.stopOnFault(err)
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			err = errStopped
		}
		r.failBlob(c, err)
	}
}

// appendBlob appends a downloaded blob to the output file, then records it in the record index
// and the ledger (once its lines are appended, before the commit that may follow in r.written).
// It holds the output's append lock for reading throughout, and a commit reads the file's size
// under the write lock: a saved size then never covers lines whose blob and records are not in
// the index batches that the commit flushes after it. Without it, a crash after such a save
// lets the next run see neither the blob in the ledger nor its lines in the tail past the saved
// size, and write its records again.
func (r *typeRun) appendBlob(c activity.Content, rd io.Reader, cl *claims, claim blobClaim) error {
	r.appendMu.RLock()
	defer r.appendMu.RUnlock()
	if _, err := r.out.Append(rd); err != nil {
		if cl != nil {
			cl.release()
		}
		return err
	}
	if testHookAppended != nil {
		testHookAppended(r, c)
	}
	if cl != nil {
		cl.commit(r.now)
	}
	r.blobs.Commit([]dedup.Key{claim.key}, claim.owner, r.now)
	return nil
}

// testHookAppended, when set by a test, runs in appendBlob between the append and the records.
var testHookAppended func(r *typeRun, c activity.Content)

// errNoURI keeps a blob pending that was listed without a contentUri.
var errNoURI = errors.New("listed without contentUri: it cannot be downloaded until a listing gives one")

// errStopped fails the blobs that a stopped run did not start or did not finish.
var errStopped = errors.New(stoppedReason)

// stopOnFault stops the run when err is a local storage fault: every further blob would meet
// it too. Blobs in flight end with the context; what was written stays and is saved as far as
// the disk allows. The first fault is the run's cause; it reports whether err was one.
func (r *typeRun) stopOnFault(err error) bool {
	if !localfs.IsFault(err) {
		return false
	}
	r.cancel(localfs.NewFault(r.o.SpoolDir, r.what(err), err))
	return true
}

// what names the file an error is about, for the user.
func (r *run) what(err error) string {
	o := r.o
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return "files"
	}
	name := filepath.Base(pe.Path)
	switch {
	case filepath.Dir(pe.Path) == filepath.Clean(o.OutDir) && strings.HasSuffix(name, layout.OutputExt):
		return "output file " + name
	case strings.Contains(name, layout.StateFile):
		return "state file " + layout.StateFile
	case strings.Contains(name, layout.BlobLedger):
		return "blob ledger " + layout.BlobLedger
	case strings.Contains(name, "spool"):
		return "download spool"
	case strings.Contains(name, "record"):
		return "record index"
	}
	return "file " + name
}

func (r *typeRun) written(c activity.Content, created time.Time, records, bytes int64) {
	r.mu.Lock()
	r.done[c.ContentID] = c.Expiration()
	r.res.Fetched++
	r.res.Records += records
	r.res.Bytes += bytes
	if t := c.Created(); t.After(r.res.Newest) {
		r.res.Newest = t
	}
	due := time.Since(r.lastCommit) > commitEvery || (r.records != nil && r.records.Unflushed() > commitKeys)
	r.mu.Unlock()
	if r.o.Progress != nil {
		r.o.Progress.Written(r.res.ContentType, created, records, bytes)
	}
	if due {
		if err := r.commit(time.Time{}); err != nil && !r.stopOnFault(err) {
			r.problems.fail(err)
		}
	}
}

func (r *typeRun) failBlob(c activity.Content, err error) {
	level := slog.LevelError
	if errors.Is(err, errStopped) {
		level = slog.LevelInfo // the reason of the stop is said once
	}
	r.o.Detail.Log(context.Background(), level, "blob not fetched; it stays pending for the next run", "content_type", r.res.ContentType, "content_id", c.ContentID, "error", err)
	r.problems.failBlob(c.ContentID, c.ContentURI, err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Failed = append(r.res.Failed, c.ContentID)
	r.failed[c.ContentID] = state.Pending{ContentURI: c.ContentURI, ContentCreated: c.ContentCreated,
		ContentExpiration: c.ContentExpiration, Error: err.Error(), FirstFailure: r.now}
	// A blob that has been failing for a day stops holding the end back: it stays pending by
	// id, but the end no longer stands still for days, making every run list a growing period
	// and finally report as lost a period that was fetched.
	if p, ok := r.pending[c.ContentID]; ok && !p.FirstFailure.IsZero() && r.now.Sub(p.FirstFailure) > pinFor {
		return
	}
	if t := c.Created(); !t.IsZero() && (r.oldest.IsZero() || t.Before(r.oldest)) {
		r.oldest = t
	}
}

// commit makes what was appended durable, then records it in the state: first fsync the
// output, then the state, so the state never claims lines that a crash could take back. A
// non-zero end also moves the type's saved end.
func (r *typeRun) commit(end time.Time) error {
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	// Take what is to be recorded, then let the workers go on while the fsyncs run: every blob
	// taken here was appended before the size is read below.
	r.mu.Lock()
	r.lastCommit = time.Now()
	done, failed, gone := r.done, r.failed, r.gone
	r.done, r.failed, r.gone = map[string]time.Time{}, map[string]state.Pending{}, map[string]bool{}
	r.mu.Unlock()
	err := r.record(end, done, failed, gone)
	if err != nil {
		r.mu.Lock()
		for id, exp := range done {
			r.done[id] = exp
		}
		for id, p := range failed {
			if _, newer := r.failed[id]; !newer {
				r.failed[id] = p
			}
		}
		for id := range gone {
			r.gone[id] = true
		}
		r.mu.Unlock()
	}
	return err
}

// record makes the taken blobs durable and saves them in the state.
func (r *typeRun) record(end time.Time, done map[string]time.Time, failed map[string]state.Pending, gone map[string]bool) error {
	// The size first, under the append lock: every blob up to it was appended and is in the
	// index batches before the flush below takes them, so the state never records a size
	// that covers lines it does not know about.
	r.appendMu.Lock()
	size, id, err := r.out.Stat()
	r.appendMu.Unlock()
	if err != nil {
		return err
	}
	if err := r.flushIndexes(); err != nil {
		return err
	}
	err = r.o.Store.Update(r.now, func(s *state.State) {
		t := s.Types[r.res.ContentType]
		if t == nil {
			t = &state.Type{}
			s.Types[r.res.ContentType] = t
		}
		t.Known = nil // kept in the blob ledger now (adoptLedger moved any left by earlier builds)
		if t.Pending == nil {
			t.Pending = map[string]state.Pending{}
		}
		for id := range done {
			delete(t.Pending, id)
		}
		for id := range gone {
			delete(t.Pending, id)
		}
		for id, p := range failed {
			if old, ok := t.Pending[id]; ok {
				p.Attempts = old.Attempts
				p.FirstFailure = old.FirstFailure
			}
			p.Attempts++
			t.Pending[id] = p
		}
		if !end.IsZero() && end.After(t.End) {
			t.End = end
		}
		if s.Files == nil {
			s.Files = map[string]state.File{}
		}
		s.Files[filepath.Base(r.out.Path())] = state.File{Size: size, ID: id}
	})
	if err != nil {
		return fmt.Errorf("save progress of %s: %w", r.res.ContentType, err)
	}
	return nil
}
