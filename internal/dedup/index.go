// Package dedup remembers the Ids of the records already written, so that a record Microsoft
// delivers again (in another blob, by design) or a record written just before a crash is not
// written twice. Keys take 20 bytes each in memory and on disk.
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
	"slices"
	"sync"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/atomicfile"
)

// FileName is the index under timeKeeperLocation.
const FileName = "o365logfetch-records.idx"

var magic = []byte("O365RIX1")

const entrySize = 16 + 4 // key + hours since the epoch when it was written

type entry struct {
	key  Key
	hour uint32
}

// Index is the set of record keys written within the horizon. Safe for concurrent use.
//
// A blob's records are first claimed (so that two blobs downloading at once cannot both write
// the same record), then either committed once the blob's lines are appended, or released when
// the blob failed, so that its records stay writable for the retry.
type Index struct {
	mu        sync.Mutex
	path      string
	horizon   time.Duration
	base      []entry        // loaded at Open, sorted by key
	written   map[Key]uint32 // committed in this run
	inflight  map[Key]uint64 // claimed by a blob being written: key → claim owner
	unflushed []entry
	file      *os.File
}

// Open loads the index of dir, dropping keys older than horizon. A missing file is an empty
// index. A partial last entry (a crash while flushing) is cut: the state never relied on it.
func Open(dir string, horizon time.Duration, now time.Time) (*Index, error) {
	x := &Index{
		path:     filepath.Join(dir, FileName),
		horizon:  horizon,
		written:  map[Key]uint32{},
		inflight: map[Key]uint64{},
	}
	data, err := os.ReadFile(x.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("record index: %w", err)
	case len(data) <= len(magic) && bytes.HasPrefix(magic, data):
		// Created but its header not (wholly) written when a run died: nothing was in it.
	default:
		if !bytes.HasPrefix(data, magic) {
			return nil, fmt.Errorf("record index %s: not an o365logfetch record index; move it aside to start a new one (records delivered twice within the horizon may then be written twice)", x.path)
		}
		body := data[len(magic):]
		body = body[:len(body)-len(body)%entrySize]
		oldest := hourOf(now.Add(-horizon))
		for off := 0; off < len(body); off += entrySize {
			var e entry
			copy(e.key[:], body[off:off+16])
			e.hour = binary.LittleEndian.Uint32(body[off+16:])
			if e.hour >= oldest {
				x.base = append(x.base, e)
			}
		}
		slices.SortFunc(x.base, func(a, b entry) int { return bytes.Compare(a.key[:], b.key[:]) })
	}
	return x, nil
}

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
	return len(x.base) + len(x.written)
}

func (x *Index) inBase(k Key) bool {
	_, found := slices.BinarySearchFunc(x.base, k, func(e entry, k Key) int { return bytes.Compare(e.key[:], k[:]) })
	return found
}

// Claim reports whether the record is new. If so it is reserved for owner until Commit or
// Release; a second claim of the same key by another owner is refused in the meantime.
func (x *Index) Claim(k Key, owner uint64) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.written[k]; ok || x.inBase(k) {
		return false
	}
	if _, ok := x.inflight[k]; ok {
		return false // another blob is writing it, or it repeats within this blob
	}
	x.inflight[k] = owner
	return true
}

// Commit marks keys claimed by owner as written (their lines are appended).
func (x *Index) Commit(keys []Key, owner uint64, now time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	h := hourOf(now)
	for _, k := range keys {
		if x.inflight[k] != owner {
			continue
		}
		delete(x.inflight, k)
		x.written[k] = h
		x.unflushed = append(x.unflushed, entry{k, h})
	}
}

// Release gives up owner's claims on keys (its blob was not written).
func (x *Index) Release(keys []Key, owner uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, k := range keys {
		if x.inflight[k] == owner {
			delete(x.inflight, k)
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
		if _, ok := x.written[k]; ok || x.inBase(k) {
			continue
		}
		x.written[k] = h
		x.unflushed = append(x.unflushed, entry{k, h})
	}
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
	x.unflushed = nil
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
// other run can flush (under the run lock), at the end of a run. It streams: the index is not
// copied in memory.
func (x *Index) Compact(now time.Time, syncOutputs func() error) error {
	if err := x.Flush(syncOutputs); err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
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
		keep := func(k Key, h uint32) error {
			if h < oldest {
				return nil
			}
			copy(rec[:16], k[:])
			binary.LittleEndian.PutUint32(rec[16:], h)
			_, err := w.Write(rec[:])
			return err
		}
		for _, e := range x.base {
			if err := keep(e.key, e.hour); err != nil {
				return err
			}
		}
		for k, h := range x.written {
			if err := keep(k, h); err != nil {
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

// Close releases the file.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.file == nil {
		return nil
	}
	err := x.file.Close()
	x.file = nil
	return err
}
