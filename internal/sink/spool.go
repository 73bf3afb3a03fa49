package sink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/o365logfetch/o365logfetch/internal/localfs"
)

// Spool collects one blob's lines before they are appended: in memory up to
// memLimit bytes, then in a temp file in dir (removed by Close). Memory stays
// bounded for blobs of any size, and a blob reaches the output only once it
// has been downloaded completely.
//
// A Spool is not safe for concurrent use; give each download worker its own.
type Spool struct {
	dir      string
	memLimit int
	buf      bytes.Buffer
	f        *os.File // temp file, once spilled
	size     int64    // bytes written to f since the last Reset
	spilled  bool     // current content lives in f, not buf
	closed   bool
}

// NewSpool returns an empty Spool that keeps up to memLimit bytes in memory
// and spills to a temp file in dir beyond that. dir should be on the same file
// system as the output, so Append can copy within the kernel.
func NewSpool(dir string, memLimit int) *Spool {
	return &Spool{dir: dir, memLimit: max(memLimit, 0)}
}

// Write adds p to the spool.
func (s *Spool) Write(p []byte) (int, error) {
	if s.closed {
		return 0, fmt.Errorf("spool: %w", os.ErrClosed)
	}
	if !s.spilled && s.buf.Len()+len(p) <= s.memLimit {
		return s.buf.Write(p)
	}
	if !s.spilled {
		if err := s.spill(); err != nil {
			return 0, err
		}
	}
	if err := localfs.Check("write", s.f.Name()); err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	// WriteAt, not Write: Reader moves the file offset.
	n, err := s.f.WriteAt(p, s.size)
	s.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("spool: %w", err)
	}
	return n, nil
}

// spill moves the in-memory content to the temp file, creating it on first
// use; later blobs reuse it.
func (s *Spool) spill() error {
	if s.f == nil {
		f, err := os.CreateTemp(s.dir, ".o365logfetch-spool-*")
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		s.f = f
	}
	n, err := s.f.WriteAt(s.buf.Bytes(), 0)
	s.size = int64(n)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.spilled = true
	s.buf.Reset()
	return nil
}

// Len is the number of bytes written since the last Reset.
func (s *Spool) Len() int64 {
	if s.spilled {
		return s.size
	}
	return int64(s.buf.Len())
}

// Reader reads back everything written so far, from the start. The reader is
// valid until the next Write, Reset or Close.
func (s *Spool) Reader() (io.Reader, error) {
	if s.closed {
		return nil, fmt.Errorf("spool: %w", os.ErrClosed)
	}
	if !s.spilled {
		return bytes.NewReader(s.buf.Bytes()), nil
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	// Limited to what this blob wrote: the file may be longer when Reset
	// could not truncate it. *io.LimitedReader over *os.File still lets
	// io.Copy use copy_file_range.
	return &io.LimitedReader{R: s.f, N: s.size}, nil
}

// Reset empties the spool for the next blob, keeping its memory and temp
// file.
func (s *Spool) Reset() error {
	if s.closed {
		return fmt.Errorf("spool: %w", os.ErrClosed)
	}
	s.buf.Reset()
	if !s.spilled {
		return nil
	}
	s.spilled = false
	s.size = 0
	// Truncating frees the disk space of a large blob early; the content
	// itself is already gone, since Write and Reader track size.
	if err := s.f.Truncate(0); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// Close releases the memory and removes the temp file.
func (s *Spool) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.buf = bytes.Buffer{}
	if s.f == nil {
		return nil
	}
	name := s.f.Name()
	cerr := s.f.Close()
	rerr := os.Remove(name)
	s.f = nil
	if err := errors.Join(cerr, rerr); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}
