// Package blob turns one downloaded blob (a JSON array of audit records) into output lines: each
// record's own JSON object, compacted but otherwise unchanged, with the blob's listing metadata
// merged in. It streams: memory use does not grow with the blob, only with its largest record.
package blob

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"
)

// Meta is the listing metadata merged into every record of a blob. On a name clash these win,
// as they did in the tool this one replaces.
type Meta struct {
	ContentURI, ContentID, ContentType, ContentCreated, ContentExpiration string
}

// metaKeys are the names Meta writes, in output order.
var metaKeys = [...]string{"contentUri", "contentId", "contentType", "contentCreated", "contentExpiration"}

func (m Meta) values() [5]string {
	return [5]string{m.ContentURI, m.ContentID, m.ContentType, m.ContentCreated, m.ContentExpiration}
}

// suffix renders `,"contentUri":"…",…}` + "\n": the tail of every line of the blob.
func (m Meta) suffix() []byte {
	var b bytes.Buffer
	for i, v := range m.values() {
		b.WriteByte(',')
		writeString(&b, metaKeys[i])
		b.WriteByte(':')
		writeString(&b, v)
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode ends with a newline
}

// ErrFormat marks a blob whose content is not what the API documents. Retrying will not help.
var ErrFormat = errors.New("blob format")

const (
	readSize = 64 << 10 // bytes asked of the body per Read
	flushAt  = 64 << 10 // output is handed to w in batches of about this size
	keepCap  = 1 << 20  // buffers grown beyond this by a huge record are not reused
	// maxDepth is encoding/json's nesting limit, so the same blobs are refused as before.
	maxDepth = 10000
)

// scanners are reused across blobs: a run converts thousands of them, and the buffers are the
// only allocations on the hot path.
var scanners = sync.Pool{New: func() any {
	return &scanner{buf: make([]byte, readSize), out: make([]byte, 0, 2*flushAt)}
}}

// Lines reads the JSON array of records from r and writes one line per record to w. It returns
// the number of records written. On error, what was written to w must be discarded: Lines does
// not undo partial output.
//
// It is a single pass over the body: each record is validated and compacted in one go straight
// into the output batch (encoding/json would decode, then compact, then copy each record), so
// the cost per byte stays close to that of reading it.
func Lines(r io.Reader, m Meta, w io.Writer) (int, error) {
	return LinesWith(r, m, w, Options{})
}

// Options refine Lines.
type Options struct {
	// MaxRecord refuses any record larger than this many bytes (0: no limit beyond memory), so
	// that a hostile or broken answer cannot make one record fill the memory. The check runs as
	// the body is read, so no more than one read (64 KiB) past the limit is held.
	MaxRecord int
	// Keep, when set, is asked about each record that has a top-level string "Id" (the bytes
	// are only valid during the call); a record it refuses is left out. Records without one
	// are always written.
	Keep func(id []byte) bool
}

// LinesWith is Lines with options.
func LinesWith(r io.Reader, m Meta, w io.Writer, o Options) (int, error) {
	s := getScanner(r)
	defer putScanner(s)
	s.maxRecord = o.MaxRecord
	s.keep = o.Keep
	return s.lines(m.suffix(), w)
}

// getScanner takes a scanner from the pool, ready to read r.
func getScanner(r io.Reader) *scanner {
	s := scanners.Get().(*scanner)
	s.reset(r)
	s.maxRecord, s.keep = 0, nil
	return s
}

// putScanner returns s to the pool, unless a huge record grew its buffers.
func putScanner(s *scanner) {
	s.r, s.keep = nil, nil
	if cap(s.out) <= keepCap && cap(s.scratch) <= keepCap && cap(s.members) <= keepCap/16 {
		scanners.Put(s)
	}
}
