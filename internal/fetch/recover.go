package fetch

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/dedup"
	"github.com/o365logfetch/o365logfetch/internal/sink"
	"github.com/o365logfetch/o365logfetch/internal/state"
)

// recoverTails makes the output files and the record index agree after an interrupted run.
//
// The state records each output file's size at its last commit. Lines past that size were
// appended by a run that died before it could record their blobs, so those blobs will be
// fetched again; their records are remembered as written, so that the refetch skips them.
// Each line names its record (Id): the tail describes itself. A file without a recorded size
// (first run, or a file the previous tool wrote) is taken as it is, and so is a file smaller
// than recorded (rotated or truncated since).
func recoverTails(o Options, writers map[string]*sink.Writer, now time.Time) error {
	files := o.Store.Snapshot().Files
	sizes := map[string]int64{}
	for ct, w := range writers {
		name := filepath.Base(w.Path())
		size, err := w.Size()
		if err != nil {
			return fmt.Errorf("size of %s: %w", w.Path(), err)
		}
		sizes[name] = size
		committed, ok := files[name]
		if !ok || committed.Size >= size || o.Records == nil {
			continue
		}
		keys, err := tailKeys(w.Path(), committed.Size)
		if err != nil {
			return fmt.Errorf("recover %s: %w", w.Path(), err)
		}
		o.Records.Remember(keys, now)
		o.Log.Warn("an interrupted run wrote records after its last save: they will not be written again",
			"content_type", ct, "file", w.Path(), "records", len(keys), "bytes", size-committed.Size)
	}
	// The tail's lines may still sit in the page cache after a kill: make them as durable as
	// the indexes that are about to name them.
	if err := flushIndexes(o, (&outputs{writers: writers}).sync); err != nil {
		return err
	}
	return o.Store.Update(now, func(s *state.State) {
		if s.Files == nil {
			s.Files = map[string]state.File{}
		}
		for name, size := range sizes {
			s.Files[name] = state.File{Size: size}
		}
	})
}

// tailKeys reads the record keys of the lines from offset on.
func tailKeys(path string, offset int64) ([]dedup.Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	var keys []dedup.Key
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A record longer than the buffer: gather it whole.
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			if id, ok := dedup.TopLevelID(line); ok {
				keys = append(keys, dedup.KeyOf(id))
			}
		}
		if err == io.EOF {
			return keys, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
