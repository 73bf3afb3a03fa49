package fetch

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/o365logfetch/o365logfetch/internal/blob"
	"github.com/o365logfetch/o365logfetch/internal/dedup"
	"github.com/o365logfetch/o365logfetch/internal/layout"
	"github.com/o365logfetch/o365logfetch/internal/sink"
	"github.com/o365logfetch/o365logfetch/internal/state"
)

// recoverTails makes the output files and the record index agree after an interrupted run.
//
// The state records each output file's size and identity at its last commit. Lines past that
// size were appended by a run that died before it could record their blobs, so those blobs
// will be fetched again; their records are remembered as written, so that the refetch skips
// them. Each line names its record (Id): the tail describes itself. A file without a recorded
// size (first run, or a file the previous tool wrote) is taken as it is. A file rotated since
// (another identity at the path: logrotate's create) was started after the last commit, so all
// of it is such a tail, and so is the recorded file's own tail past its size where it still
// lies uncompressed beside it (Audit.Exchange.log.1). A file smaller than recorded without an
// identity to compare (truncated by copytruncate) is taken as it is.
//
// Earlier versions named every file, and so its entry, after the canonical content type
// (Audit.SharePoint.log) where the file now follows the configured spelling
// (Audit.Sharepoint.log). A file without an entry of its own takes the canonical one, which is
// then dropped: where it describes this very file (renamed, or a file system that ignores case)
// recovery goes on as above; where it describes another file, the canonically named one that
// the earlier version wrote, that file's tail (or its rotated copy's) is the one read.
func (r *run) recoverTails() error {
	o, now := r.o, r.now
	files := o.Store.Snapshot().Files
	type file struct {
		size int64
		id   string
	}
	current := map[string]file{}
	var adopted []string // canonical entries taken by a file named otherwise
	for ct, w := range r.outs.writers {
		name := filepath.Base(w.Path())
		size, id, err := w.Stat()
		if err != nil {
			return err
		}
		current[name] = file{size, id}
		committed, ok := files[name]
		canonical := ""
		if c := layout.Output(ct); !ok && c != name {
			if committed, ok = files[c]; ok {
				canonical = c
				adopted = append(adopted, c)
			}
		}
		if !ok || r.records == nil {
			continue
		}
		var keys []dedup.Key
		rotated := committed.ID != "" && id != "" && committed.ID != id
		switch {
		case rotated && canonical != "":
			// This file is not the one the entry describes: it is taken as it is, and the
			// earlier version's file holds the tail.
			old := filepath.Join(filepath.Dir(w.Path()), canonical)
			if fi, err := os.Stat(old); err != nil || sink.FileID(fi) != committed.ID {
				if old, err = findRotated(old, committed.ID); err != nil {
					return fmt.Errorf("recover %s: %w", w.Path(), err)
				}
			}
			if old == "" {
				o.Log.Warn("the file an earlier version wrote under the canonical name is gone or compressed: records it got after its last save may be written again",
					"content_type", ct, "file", filepath.Join(filepath.Dir(w.Path()), canonical))
				break
			}
			if keys, err = tailKeys(old, committed.Size); err != nil {
				return fmt.Errorf("recover %s: %w", old, err)
			}
		case rotated:
			if keys, err = tailKeys(w.Path(), 0); err != nil {
				return fmt.Errorf("recover %s: %w", w.Path(), err)
			}
			old, err := findRotated(w.Path(), committed.ID)
			if err != nil {
				return fmt.Errorf("recover %s: %w", w.Path(), err)
			}
			if old == "" {
				o.Log.Warn("the output file was rotated after the last save of an interrupted run and the rotated file is gone or compressed: records it got after that save may be written again",
					"content_type", ct, "file", w.Path())
				break
			}
			more, err := tailKeys(old, committed.Size)
			if err != nil {
				return fmt.Errorf("recover %s: %w", old, err)
			}
			keys = append(keys, more...)
		case committed.Size < size:
			if keys, err = tailKeys(w.Path(), committed.Size); err != nil {
				return fmt.Errorf("recover %s: %w", w.Path(), err)
			}
		}
		if len(keys) == 0 {
			continue
		}
		r.records.Remember(keys, now)
		o.Log.Warn("an interrupted run wrote records after its last save: they will not be written again",
			"content_type", ct, "file", w.Path(), "records", len(keys), "rotated", rotated)
	}
	// The tail's lines may still sit in the page cache after a kill: make them as durable as
	// the indexes that are about to name them.
	if err := r.flushIndexes(); err != nil {
		return err
	}
	return o.Store.Update(now, func(s *state.State) {
		if s.Files == nil {
			s.Files = map[string]state.File{}
		}
		for _, name := range adopted {
			delete(s.Files, name)
		}
		for name, f := range current {
			s.Files[name] = state.File{Size: f.size, ID: f.id}
		}
	})
}

// findRotated looks beside path for the uncompressed file of identity id that logrotate
// renamed it to (path.1, path-20260101, ...); "" when there is none.
func findRotated(path, id string) (string, error) {
	dir, base := filepath.Split(path)
	entries, err := os.ReadDir(filepath.Clean(dir))
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), base) || e.Name() == base || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // rotated away meanwhile
		}
		if sink.FileID(fi) == id {
			return filepath.Join(dir, e.Name()), nil
		}
	}
	return "", nil
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
			if id, ok := blob.LineID(line); ok {
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
