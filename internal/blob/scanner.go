// The scanner driver: reads the body, walks the array, hands whole lines to the writer.

package blob

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// scanner reads one blob. out holds complete lines not yet handed to w, then the record being
// compacted.
type scanner struct {
	r        io.Reader
	buf      []byte
	pos, end int
	rerr     error // sticky error of r (io.EOF at the end of the body)

	out     []byte
	members []member // top-level members of the current record, for the rare clash rewrite
	scratch []byte   // copy of a record being rewritten
	written int      // records handed to w
	pending int      // complete records in out

	maxRecord int // 0: unlimited
	recStart  int // offset in out of the record being compacted, -1 between records
	keep      func(id []byte) bool
	idBuf     []byte
}

// member locates one top-level key and its value inside the record being compacted, as offsets
// from the record's '{'.
type member struct{ key, colon, end int }

func (s *scanner) reset(r io.Reader) {
	s.r = r
	s.pos, s.end = 0, 0
	s.rerr = nil
	s.out = s.out[:0]
	s.written, s.pending = 0, 0
	s.recStart = -1
}

func (s *scanner) lines(suffix []byte, w io.Writer) (int, error) {
	c, ok := s.skipSpace()
	if !ok {
		if s.rerr == io.EOF {
			return 0, fmt.Errorf("%w: empty body, expected a JSON array", ErrFormat)
		}
		return 0, decodeErr(s.rerr)
	}
	if c != '[' {
		return 0, fmt.Errorf("%w: expected a JSON array of records, got %q", ErrFormat, c)
	}
	s.pos++
	if c, ok = s.skipSpace(); !ok {
		return 0, s.eofErr()
	}
	if c == ']' {
		s.pos++
		return 0, s.trailer()
	}
	for {
		if c != '{' {
			return s.fail(w, fmt.Errorf("%w: record %d is not a JSON object", ErrFormat, s.written+s.pending+1))
		}
		start := len(s.out)
		if err := s.record(); err != nil {
			s.out = s.out[:start]
			return s.fail(w, err)
		}
		if s.keep != nil {
			if id, ok := s.topID(s.out[start:]); ok && !s.keep(id) {
				s.out = s.out[:start]
				goto next
			}
		}
		if err := s.finish(start, suffix); err != nil {
			s.out = s.out[:start]
			return s.fail(w, err)
		}
		s.pending++
		if len(s.out) >= flushAt {
			if err := s.flush(w); err != nil {
				return s.written, err
			}
		}
	next:
		if c, ok = s.skipSpace(); !ok {
			return s.fail(w, s.eofErr())
		}
		s.pos++
		if c == ']' {
			break
		}
		if c != ',' {
			return s.fail(w, syntaxErr("after a record", c))
		}
		if c, ok = s.skipSpace(); !ok {
			return s.fail(w, s.eofErr())
		}
	}
	if err := s.flush(w); err != nil {
		return s.written, err
	}
	return s.written, s.trailer()
}

// finish checks the compacted record at out[start:] and turns it into its output line.
func (s *scanner) finish(start int, suffix []byte) error {
	obj := s.out[start:]
	n := s.written + s.pending + 1
	if !utf8.Valid(obj) {
		return fmt.Errorf("%w: record %d is not valid UTF-8", ErrFormat, n)
	}
	if s.needsRewrite(obj) {
		if err := s.dropKeys(start); err != nil {
			return fmt.Errorf("%w: record %d: %v", ErrFormat, n, err)
		}
		obj = s.out[start:]
	}
	s.out = s.out[:len(s.out)-1] // the closing '}': the metadata closes the line
	if len(obj) == 2 {           // "{}": no comma before the first metadata field
		s.out = append(s.out, suffix[1:]...)
	} else {
		s.out = append(s.out, suffix...)
	}
	return nil
}

// fail hands w the lines completed before err, so that the count returned matches w's lines.
func (s *scanner) fail(w io.Writer, err error) (int, error) {
	if ferr := s.flush(w); ferr != nil {
		return s.written, ferr
	}
	return s.written, err
}

func (s *scanner) flush(w io.Writer) error {
	if s.pending == 0 {
		return nil
	}
	if _, err := w.Write(s.out); err != nil {
		s.out, s.pending = s.out[:0], 0
		return err
	}
	s.written += s.pending
	s.out, s.pending = s.out[:0], 0
	return nil
}

// trailer accepts only white space after the closing ']'.
func (s *scanner) trailer() error {
	if _, ok := s.skipSpace(); ok {
		return fmt.Errorf("%w: data after the JSON array", ErrFormat)
	}
	if s.rerr != io.EOF {
		// The body broke off after the array: a transport error stays one, so the blob is
		// retried rather than given up as malformed.
		return decodeErr(s.rerr)
	}
	return nil
}

// fill makes at least one unread byte available; false when r has no more (see rerr).
func (s *scanner) fill() bool {
	if s.pos < s.end {
		return true
	}
	if s.maxRecord > 0 && s.recStart >= 0 && len(s.out)-s.recStart > s.maxRecord {
		s.rerr = s.tooLarge()
		return false
	}
	for s.rerr == nil {
		n, err := s.r.Read(s.buf)
		if err != nil {
			s.rerr = err
		}
		if n > 0 {
			s.pos, s.end = 0, n
			return true
		}
	}
	return false
}

func (s *scanner) tooLarge() error {
	return fmt.Errorf("%w: record %d is larger than %d bytes (maxRecordBytes)", ErrFormat, s.written+s.pending+1, s.maxRecord)
}

// eofErr explains why the body ended inside the array.
func (s *scanner) eofErr() error {
	if s.rerr == io.EOF {
		return fmt.Errorf("%w: unexpected end of JSON input", ErrFormat)
	}
	return decodeErr(s.rerr)
}

// decodeErr keeps transport errors (a body cut short) as they are, so the caller can retry,
// and marks everything else as a format error.
func decodeErr(err error) error {
	var se *json.SyntaxError
	var ue *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &ue) || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return err
}

func syntaxErr(where string, c byte) error {
	return fmt.Errorf("%w: invalid character %q %s", ErrFormat, c, where)
}

// skipSpace skips JSON white space and returns the next byte without consuming it.
func (s *scanner) skipSpace() (byte, bool) {
	for {
		for s.pos < s.end {
			c := s.buf[s.pos]
			if c > ' ' || (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
				return c, true
			}
			s.pos++
		}
		if !s.fill() {
			return 0, false
		}
	}
}

// next consumes and returns one byte.
func (s *scanner) next() (byte, error) {
	if !s.fill() {
		return 0, s.eofErr()
	}
	c := s.buf[s.pos]
	s.pos++
	return c, nil
}

// record compacts one top-level object (the next byte is its '{') into out and notes where
// its members are.
func (s *scanner) record() error {
	start := len(s.out)
	if n := s.fastRecord(); n > 0 {
		s.pos += n
	} else if err := s.slowRecord(); err != nil {
		return err
	}
	// slowRecord stops a huge record early, within a read past the limit; this makes the
	// limit exact whichever path took the record.
	if s.maxRecord > 0 && len(s.out)-start > s.maxRecord {
		return s.tooLarge()
	}
	return nil
}
