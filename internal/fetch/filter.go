package fetch

import (
	"bytes"
	"io"
	"sync/atomic"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/dedup"
)

// nextOwner numbers blob downloads: each claims its records in the index under its own number.
var nextOwner atomic.Uint64

// filter passes a blob's lines on to w, dropping the records the index says were written
// before. It accepts lines in any chunking; only whole lines are passed on.
type filter struct {
	idx     *dedup.Index
	owner   uint64
	w       io.Writer
	partial []byte      // start of a line whose end has not come yet
	claimed []dedup.Key // claims of the current attempt
	dropped int
}

// reset starts a new attempt: claims of an earlier attempt of the same blob are given up.
func (f *filter) reset(w io.Writer) {
	f.release()
	f.w = w
	f.partial = f.partial[:0]
	f.dropped = 0
}

func (f *filter) Write(p []byte) (int, error) {
	if f.idx == nil {
		return f.w.Write(p)
	}
	n := len(p)
	if len(f.partial) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			f.partial = append(f.partial, p...)
			return n, nil
		}
		f.partial = append(f.partial, p[:i+1]...)
		if err := f.line(f.partial); err != nil {
			return 0, err
		}
		f.partial = f.partial[:0]
		p = p[i+1:]
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			f.partial = append(f.partial, p...)
			break
		}
		if err := f.line(p[:i+1]); err != nil {
			return 0, err
		}
		p = p[i+1:]
	}
	return n, nil
}

func (f *filter) line(l []byte) error {
	if id, ok := dedup.TopLevelID(l); ok {
		k := dedup.KeyOf(id)
		if !f.idx.Claim(k, f.owner) {
			f.dropped++
			return nil
		}
		f.claimed = append(f.claimed, k)
	}
	_, err := f.w.Write(l)
	return err
}

// close checks that the last line was complete.
func (f *filter) close() error {
	if len(f.partial) > 0 {
		return io.ErrShortWrite
	}
	return nil
}

// commit records the claimed records as written: their lines are appended.
func (f *filter) commit(now time.Time) {
	if f.idx != nil {
		f.idx.Commit(f.claimed, f.owner, now)
	}
	f.claimed = f.claimed[:0]
}

// release gives the claims up: the blob was not written and will be retried.
func (f *filter) release() {
	if f.idx != nil && len(f.claimed) > 0 {
		f.idx.Release(f.claimed, f.owner)
	}
	f.claimed = f.claimed[:0]
}
