// Package sink appends audit records as JSON lines to one file per content
// type, where a SIEM tails them. Every append is a whole blob: a reader of the
// file sees complete lines only, and a failure leaves no fragment behind.
package sink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/o365logfetch/o365logfetch/internal/atomicfile"
	"github.com/o365logfetch/o365logfetch/internal/layout"

	"github.com/o365logfetch/o365logfetch/internal/localfs"
)

// ErrPartialLine is returned by Append when the blob does not end in a
// newline: appending it would glue the next blob's first record to its last.
var ErrPartialLine = errors.New("content does not end in a newline")

// ErrTruncated is returned by Append when the file was truncated while the blob was being
// written (logrotate's copytruncate during a run): the part written before the truncation is
// in the rotated copy, the rest was taken out again, and the blob is written whole by a later
// run.
var ErrTruncated = errors.New("the file was truncated while a blob was appended (copytruncate rotation during a run)")

// Writer appends whole blobs to <dir>/<name>.log. Safe for concurrent use: one
// blob's lines are contiguous; lines of different blobs never interleave.
type Writer struct {
	mu       sync.Mutex
	f        *os.File
	path     string
	repaired int64
	// broken is set by a failed fsync or a failed undo: after either, what is on disk is
	// unknown (Linux reports a lost write-back once, then calls the pages clean), so the writer
	// refuses all further work for this run. The blobs stay pending; the next run repairs the
	// file and recovers its tail.
	broken error
}

// Open opens <dir>/<name>.log for appending, creating it with mode 0640.
// name must be a plain file name. Before returning it repairs a partial last
// line left by a crash: when the file does not end in '\n', it is truncated
// after its last '\n' (Repaired reports how many bytes were cut).
func Open(dir, name string) (*Writer, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, layout.Output(name))
	_, statErr := os.Lstat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	// O_APPEND (where the system keeps truncation possible on such a file, see appendFlag):
	// every write lands at the end of the file as it is at that moment. Without it, a
	// copytruncate rotation in the middle of a blob made the rest of the blob land at the old
	// offset of an emptied file, behind a hole of NUL bytes that tailers read as data.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|appendFlag, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open output: %w", err)
	}
	if created {
		// The file's directory entry must be as durable as its content: without this, a power
		// loss can take away a new file whose blobs the state already records.
		if err := atomicfile.SyncDir(dir); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("open output %s: %w", path, err)
		}
	}
	w := &Writer{f: f, path: path}
	if w.repaired, err = repair(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("repair %s: %w", path, err)
	}
	return w, nil
}

// checkName refuses names that would leave dir or cannot name a file.
// Content types come from configuration, so a typo must not write elsewhere.
func checkName(name string) error {
	switch {
	case name == "", name == ".", name == "..":
		return fmt.Errorf("output name %q: not a file name", name)
	case strings.ContainsAny(name, `/\`+"\x00"):
		return fmt.Errorf("output name %q: must not contain '/', '\\' or NUL", name)
	case filepath.Base(name) != name || filepath.IsAbs(name) || filepath.VolumeName(name) != "":
		return fmt.Errorf("output name %q: not a plain file name", name)
	}
	return nil
}

// repairChunk bounds the memory of the backwards scan for the last newline.
const repairChunk = 64 << 10

// repair truncates f after its last '\n' when it does not end in one, and
// returns the number of bytes cut. A file without any newline is emptied:
// its content is a fragment of a line that was never completed.
func repair(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	if size == 0 {
		return 0, nil
	}
	buf := make([]byte, min(size, repairChunk))
	keep := int64(0)
	for end := size; end > 0; {
		n := min(end, int64(len(buf)))
		off := end - n
		if _, err := f.ReadAt(buf[:n], off); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			keep = off + int64(i) + 1
			break
		}
		end = off
	}
	if keep == size {
		return 0, nil
	}
	if err := f.Truncate(keep); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	return size - keep, nil
}

// Path is the file w appends to.
func (w *Writer) Path() string { return w.path }

// Repaired is the number of bytes Open cut from a partial last line.
func (w *Writer) Repaired() int64 { return w.repaired }

// Append copies everything r yields to the end of the file. r's content must
// be whole lines (end in '\n', or be empty). All or nothing: on any error the
// file is truncated back to its size before the call, so no partial blob and
// no partial line stays behind. Append does not fsync; call Sync before
// recording the blob as durable.
func (w *Writer) Append(r io.Reader) (n int64, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, fmt.Errorf("append %s: %w", w.path, os.ErrClosed)
	}
	if w.broken != nil {
		return 0, fmt.Errorf("append %s: refused after an earlier failure: %w", w.path, w.broken)
	}
	if err := w.followRotation(); err != nil {
		return 0, fmt.Errorf("append %s: %w", w.path, err)
	}
	before, err := w.f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("append %s: %w", w.path, err)
	}
	if err = localfs.Check("write", w.path); err == nil {
		n, err = io.Copy(w.f, r)
	}
	// The offset after the copy is the end of what was written. Anything but before+n means
	// the file was truncated under the copy, and only the bytes written after the truncation
	// are in the file now, from its start: all of them (after == n) when it came before the
	// first write, and then the blob is whole.
	after, serr := w.f.Seek(0, io.SeekCurrent)
	if err == nil {
		err = serr
	}
	cut := serr == nil && after != before+n && after != n
	if err == nil && cut {
		err = ErrTruncated
	}
	if err == nil && n > 0 {
		err = w.checkLastByte(after - 1)
	}
	if err != nil {
		start := before
		if cut || (serr == nil && after == n && before != 0) {
			start = max(0, after-n)
		}
		if terr := w.undo(start); terr != nil {
			w.broken = fmt.Errorf("undoing a failed append: %w", terr)
			return 0, fmt.Errorf("append %s: %w (and undoing it: %v; the file may end in a partial blob)", w.path, err, terr)
		}
		return 0, fmt.Errorf("append %s: %w", w.path, err)
	}
	return n, nil
}

// followRotation reopens the path when it no longer names the open file: logrotate in create
// mode renamed it (and may have created a new one). Blobs then go to the file the path names,
// where tailers look, not to the renamed one, which a tailer such as rsyslog's imfile stops
// reading once a new file of the same name appears. What was written to the old file is
// fsynced first: the state records sizes of the file the writer holds.
func (w *Writer) followRotation() error {
	cur, err := w.f.Stat()
	if err != nil {
		return err
	}
	at, err := os.Stat(w.path)
	if err == nil && os.SameFile(cur, at) {
		return nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := w.f.Sync(); err != nil {
		w.broken = fmt.Errorf("fsync before following a rotation: %w", err)
		return w.broken
	}
	next, err := Open(filepath.Dir(w.path), strings.TrimSuffix(filepath.Base(w.path), layout.OutputExt))
	if err != nil {
		return err
	}
	_ = w.f.Close()
	w.f = next.f
	return nil
}

// checkLastByte reads back the last byte written: cheaper than wrapping the
// source, which would stop io.Copy from using copy_file_range.
func (w *Writer) checkLastByte(off int64) error {
	var b [1]byte
	if _, err := w.f.ReadAt(b[:], off); err != nil {
		if errors.Is(err, io.EOF) { // emptied after the copy, before this read
			return ErrTruncated
		}
		return err
	}
	if b[0] != '\n' {
		return ErrPartialLine
	}
	return nil
}

// undo takes a failed blob out of the file again by cutting it back to size, but never
// extends it: a truncation under the writer (copytruncate) may have left it shorter, and
// extending it would write a hole of NUL bytes.
func (w *Writer) undo(size int64) error {
	fi, err := w.f.Stat()
	if err != nil {
		return err
	}
	size = min(size, fi.Size())
	if err := w.f.Truncate(size); err != nil {
		return err
	}
	_, err = w.f.Seek(size, io.SeekStart)
	return err
}

// Size is the current size of the file.
func (w *Writer) Size() (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, fmt.Errorf("size %s: %w", w.path, os.ErrClosed)
	}
	fi, err := w.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("size %s: %w", w.path, err)
	}
	return fi.Size(), nil
}

// Stat is the current size of the file and its identity (FileID), read together so that
// both describe the same file even while a rotation is followed.
func (w *Writer) Stat() (size int64, id string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, "", fmt.Errorf("stat %s: %w", w.path, os.ErrClosed)
	}
	fi, err := w.f.Stat()
	if err != nil {
		return 0, "", fmt.Errorf("stat %s: %w", w.path, err)
	}
	return fi.Size(), FileID(fi), nil
}

// Sync flushes the file to stable storage.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return fmt.Errorf("sync %s: %w", w.path, os.ErrClosed)
	}
	if w.broken != nil {
		return fmt.Errorf("sync %s: refused after an earlier failure: %w", w.path, w.broken)
	}
	// The fsync runs without the mutex, so appends go on meanwhile: it covers at least all
	// that was written before it started, which is what callers rely on.
	f := w.f
	w.mu.Unlock()
	err := f.Sync()
	w.mu.Lock()
	if err != nil && errors.Is(err, os.ErrClosed) && f != w.f {
		// An append followed a rotation meanwhile: it fsynced this file before closing it.
		err = nil
	}
	if err != nil {
		w.broken = fmt.Errorf("fsync: %w", err)
		return fmt.Errorf("sync %s: %w", w.path, err)
	}
	return nil
}

// Close syncs and closes the file. Closing twice is harmless.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	f := w.f
	w.f = nil
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(serr, cerr); err != nil {
		return fmt.Errorf("close %s: %w", w.path, err)
	}
	return nil
}
