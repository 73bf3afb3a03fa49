// Package dedup remembers the Ids of the records already written, so that a record Microsoft
// delivers again (in another blob, by design) or a record written just before a crash is not
// written twice.
//
// Memory stays flat however many records are remembered: recent keys sit in a bounded map, and
// each time it fills they are spilled, grouped by hash, to a scratch file of which only a Bloom
// filter and the group offsets stay in memory (about 1.3 bytes a key). On disk every key takes
// 20 bytes: an append-only journal, fsynced before the state relies on it, rewritten without
// expired keys at the end of each run.
package dedup

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/atomicfile"
	"github.com/o365logfetch/o365logfetch/internal/exit"
	"github.com/o365logfetch/o365logfetch/internal/layout"

	"github.com/o365logfetch/o365logfetch/internal/localfs"
)

var magic = []byte("O365RIX1")

const entrySize = 16 + 4 // key + hours since the epoch when it was written

// spillAt is how many keys the in-memory map holds before they go to a run file (about 5 MiB).
// A variable so that tests can spill often.
var spillAt = 1 << 17

type entry struct {
	key  Key
	hour uint32
}

type claim struct {
	key Key
	v   uint32
}

// Index is the set of record keys written within the horizon. Safe for concurrent use.
//
// A blob's records are first claimed (so that two blobs downloading at once cannot both write
// the same record), then either committed once the blob's lines are appended, or released when
// the blob failed, so that its records stay writable for the retry.
type Index struct {
	mu        sync.Mutex
	dir, path string
	horizon   time.Duration
	oldest    uint32 // keys written before this hour are past the horizon
	// recent holds the keys not yet spilled (key → hour written) and the keys claimed by a
	// blob being written (key → claimed|owner): one map, so that a claim and its commit each
	// cost one lookup.
	recent    map[Key]uint32
	written   int // keys of recent that are written, not claimed
	runs      []*run
	count     int      // keys remembered
	unflushed []entry  // committed but not yet in the journal
	spare     []entry  // the last batch flushed, emptied, for the next one
	file      *os.File // the journal, once this run appends to it
	spillAt   int
	claims    []claim // reused by spill
	runBuf    []byte  // reused by spill
	err       error   // a run file that could not be written or read: the index is unusable
}

// Open loads the index of dir, dropping keys older than horizon. A missing file is an empty
// index. A partial last entry (a crash while flushing) is cut: the state never relied on it.
func Open(dir string, horizon time.Duration, now time.Time) (*Index, error) {
	return OpenFile(dir, layout.RecordIndex, horizon, now)
}

// OpenFile is Open for an index of another name in dir: the same structure also remembers
// which blobs were written.
func OpenFile(dir, name string, horizon time.Duration, now time.Time) (*Index, error) {
	return open(filepath.Join(dir, name), dir, horizon, now)
}

// View opens the index at path for lookups alone (Has), beside a run that may be appending to
// it or compacting it: the file is read once and never written. It sees what was flushed
// when it was opened: a last entry the run is still appending is cut, and a compaction
// replaces the file by a rename, which leaves the one being read whole. Keys beyond memory
// spill to scratch files in scratchDir, as a run's do in the state directory.
func View(path, scratchDir string, horizon time.Duration, now time.Time) (*Index, error) {
	return open(path, scratchDir, horizon, now)
}

// Has reports whether k is remembered as written.
func (x *Index) Has(k Key) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.has(k)
}

// WrittenAt reports whether k is remembered as written, and the hour it was written in.
func (x *Index) WrittenAt(k Key) (time.Time, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if v, ok := x.recent[k]; ok && v&claimed == 0 {
		return time.Unix(int64(v)*3600, 0).UTC(), true
	}
	if h, ok := x.spilledAt(k); ok {
		return time.Unix(int64(h)*3600, 0).UTC(), true
	}
	return time.Time{}, false
}

func open(path, dir string, horizon time.Duration, now time.Time) (*Index, error) {
	x := &Index{
		dir:     dir,
		path:    path,
		horizon: horizon,
		oldest:  hourOf(now.Add(-horizon)),
		recent:  map[Key]uint32{},
		spillAt: spillAt,
	}
	f, err := os.Open(x.path)
	if errors.Is(err, os.ErrNotExist) {
		return x, nil
	}
	if err != nil {
		return nil, fmt.Errorf("record index: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	head := make([]byte, len(magic))
	n, err := io.ReadFull(r, head)
	switch {
	case (err == io.EOF || err == io.ErrUnexpectedEOF) && bytes.HasPrefix(magic, head[:n]):
		return x, nil // created, but its header not (wholly) written when a run died: empty
	case err != nil && err != io.EOF && err != io.ErrUnexpectedEOF:
		return nil, fmt.Errorf("record index %s: %w", x.path, err)
	case !bytes.Equal(head, magic):
		return nil, &CorruptError{Path: x.path}
	}
	var rec [entrySize]byte
	for {
		if _, err := io.ReadFull(r, rec[:]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				break // a partial last entry is a flush a crash cut short
			}
			return nil, fmt.Errorf("record index %s: %w", x.path, err)
		}
		var k Key
		copy(k[:], rec[:16])
		if h := binary.LittleEndian.Uint32(rec[16:]); h >= x.oldest && !x.has(k) {
			x.add(k, h)
		}
	}
	if x.err != nil {
		x.Close()
		return nil, x.err
	}
	return x, nil
}

// CorruptError is a file in the place of an index that is not one. It is never replaced
// silently: starting a new index forgets what was written, and the user decides.
type CorruptError struct{ Path string }

func (e *CorruptError) Error() string {
	return fmt.Sprintf("record index %s: not an o365logfetch record index; move it aside to start a new one (records delivered twice within the horizon may then be written twice)", e.Path)
}

// ExitCode is exit.Usage: a person must move the file aside; a retry cannot help.
func (e *CorruptError) ExitCode() exit.Code { return exit.Usage }

func hourOf(t time.Time) uint32 {
	h := t.Unix() / 3600
	if h < 0 {
		return 0
	}
	return uint32(h)
}

// Len is the number of keys remembered.
func (x *Index) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.count
}

// claimed marks a value of recent as a claim; the rest of it is the owner's low 31 bits (an
// hour since 1970 needs 19). Two owners a multiple of 2^31 blobs apart are never in flight
// together.
const claimed = 1 << 31

func claimOf(owner uint64) uint32 { return claimed | uint32(owner)&(claimed-1) }

// has reports whether k is remembered as written; the caller holds x.mu (or owns x). A run
// that cannot be read answers "not there": writing a record twice is better than dropping it.
func (x *Index) has(k Key) bool {
	if v, ok := x.recent[k]; ok && v&claimed == 0 {
		return true
	}
	return x.spilled(k)
}

// spilled reports whether k is in a run.
func (x *Index) spilled(k Key) bool {
	_, ok := x.spilledAt(k)
	return ok
}

// spilledAt finds k in a run: the hour it was written in, and whether it is there.
func (x *Index) spilledAt(k Key) (uint32, bool) {
	for _, r := range x.runs {
		h, ok, err := r.find(k)
		if err != nil {
			x.err = err
			continue
		}
		if ok && h >= x.oldest {
			return h, true
		}
	}
	return 0, false
}

// add remembers k as written; the caller holds x.mu and knows k is not written yet (it may
// be claimed).
func (x *Index) add(k Key, h uint32) {
	x.recent[k] = h
	x.written++
	x.count++
	if x.written >= x.spillAt && x.err == nil {
		x.spill()
	}
}

func (x *Index) spill() {
	// The slice and the map are reused from spill to spill: each refills to the same size, and
	// garbage of that size would let the heap (and RSS) grow by as much between collections.
	written := func(yield func(Key, uint32) bool) {
		for k, v := range x.recent {
			if v&claimed == 0 && !yield(k, v) {
				return
			}
		}
	}
	r, buf, err := spill(x.dir, x.written, written, x.runBuf)
	x.runBuf = buf
	if err != nil {
		// Keep the keys in memory: correct, only not flat. Say so once at Compact.
		x.err = fmt.Errorf("record index: spill to %s: %w", x.dir, err)
		return
	}
	x.runs = append(x.runs, r)
	// Cleared and refilled with the claims, not deleted from key by key: deleted slots would
	// lengthen every later lookup.
	claims := x.claims[:0]
	for k, v := range x.recent {
		if v&claimed != 0 {
			claims = append(claims, claim{k, v})
		}
	}
	x.claims = claims
	clear(x.recent)
	for _, c := range claims {
		x.recent[c.key] = c.v
	}
	x.written = 0
}

// Claim reports whether the record is new. If so it is reserved for owner until Commit or
// Release; a second claim of the same key by another owner is refused in the meantime.
func (x *Index) Claim(k Key, owner uint64) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.recent[k]; ok {
		return false // written, or another blob is writing it, or it repeats within this blob
	}
	if x.spilled(k) {
		return false
	}
	x.recent[k] = claimOf(owner)
	return true
}

// Commit marks keys claimed by owner as written (their lines are appended).
func (x *Index) Commit(keys []Key, owner uint64, now time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	h := hourOf(now)
	for _, k := range keys {
		if x.recent[k] != claimOf(owner) {
			continue
		}
		x.add(k, h)
		x.unflushed = append(x.unflushed, entry{k, h})
	}
}

// Release gives up owner's claims on keys (its blob was not written).
func (x *Index) Release(keys []Key, owner uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, k := range keys {
		if x.recent[k] == claimOf(owner) {
			delete(x.recent, k)
		}
	}
}

// Remember adds keys known to be written already (found in an output file's tail after a
// crash) as written now.
func (x *Index) Remember(keys []Key, now time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	h := hourOf(now)
	for _, k := range keys {
		if x.has(k) {
			continue
		}
		x.add(k, h)
		x.unflushed = append(x.unflushed, entry{k, h})
	}
}

// Unflushed is the number of committed keys not yet in the journal: the caller commits when
// it grows, which bounds the memory they take.
func (x *Index) Unflushed() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.unflushed)
}

// Flush makes the keys committed so far durable. It takes them first, then calls
// syncOutputs (which must fsync every output file), then appends them to the index and fsyncs
// it. Taking them before the outputs are synced matters: a key committed by another worker
// while the outputs are being synced stays for the next flush, so the index never holds a
// record whose line a power loss could still take back. Call it before the state records the
// blobs those keys came from.
func (x *Index) Flush(syncOutputs func() error) error {
	x.mu.Lock()
	batch := x.unflushed
	x.unflushed, x.spare = x.spare, nil
	x.mu.Unlock()
	if err := syncOutputs(); err != nil {
		x.putBack(batch)
		return err
	}
	if len(batch) == 0 {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.append(batch); err != nil {
		// A write that failed part-way leaves a fragment: reopen next time, which cuts it.
		if x.file != nil {
			x.file.Close()
			x.file = nil
		}
		x.unflushed = append(batch, x.unflushed...)
		return fmt.Errorf("record index %s: %w", x.path, err)
	}
	x.spare = batch[:0] // the next batch fills it again without growing a new one
	return nil
}

func (x *Index) putBack(batch []entry) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.unflushed = append(batch, x.unflushed...)
}

// append writes entries to the journal and fsyncs it; the caller holds x.mu.
func (x *Index) append(batch []entry) error {
	if x.file == nil {
		f, err := os.OpenFile(x.path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		if err := prepare(f); err != nil {
			f.Close()
			return err
		}
		x.file = f
	}
	if err := localfs.Check("write", x.path); err != nil {
		return err
	}
	w := bufio.NewWriterSize(x.file, 64<<10)
	var rec [entrySize]byte
	for _, e := range batch {
		copy(rec[:16], e.key[:])
		binary.LittleEndian.PutUint32(rec[16:], e.hour)
		if _, err := w.Write(rec[:]); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return x.file.Sync()
}

// prepare writes the header of a new file, cuts a partial last entry of an old one, and
// leaves the offset at the end.
func prepare(f *os.File) error {
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if size < int64(len(magic)) { // new, or its header cut by a crash: start it afresh
		if err := f.Truncate(0); err != nil {
			return err
		}
		if _, err := f.WriteAt(magic, 0); err != nil {
			return err
		}
		if _, err := f.Seek(int64(len(magic)), io.SeekStart); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		return atomicfile.SyncDir(filepath.Dir(f.Name()))
	}
	body := size - int64(len(magic))
	if rem := body % entrySize; rem != 0 {
		if err := f.Truncate(size - rem); err != nil {
			return err
		}
		_, err = f.Seek(size-rem, io.SeekStart)
	}
	return err
}

// Compact rewrites the file with only the keys inside the horizon, atomically. Run it when no
// other run can flush (under the run lock), at the end of a run. It streams.
func (x *Index) Compact(now time.Time, syncOutputs func() error) error {
	if err := x.Flush(syncOutputs); err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.err != nil {
		return x.err
	}
	if x.file != nil {
		x.file.Close()
		x.file = nil
	}
	oldest := hourOf(now.Add(-x.horizon))
	err := atomicfile.Write(x.path, 0o600, func(w io.Writer) error {
		if _, err := w.Write(magic); err != nil {
			return err
		}
		var rec [entrySize]byte
		keep := func(e entry) error {
			if e.hour < oldest {
				return nil
			}
			copy(rec[:16], e.key[:])
			binary.LittleEndian.PutUint32(rec[16:], e.hour)
			_, err := w.Write(rec[:])
			return err
		}
		for _, r := range x.runs {
			if err := r.each(keep); err != nil {
				return err
			}
		}
		for k, v := range x.recent {
			if v&claimed != 0 {
				continue
			}
			if err := keep(entry{k, v}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record index: %w", err)
	}
	return nil
}

// Close releases the files.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, r := range x.runs {
		r.close()
	}
	x.runs = nil
	if x.file == nil {
		return nil
	}
	err := x.file.Close()
	x.file = nil
	return err
}
