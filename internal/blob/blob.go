// Package blob turns one downloaded blob (a JSON array of audit records) into output lines: each
// record's own JSON object, compacted but otherwise unchanged, with the blob's listing metadata
// merged in. It streams: memory use does not grow with the blob, only with its largest record.
package blob

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"
	"unicode/utf8"
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
	s := scanners.Get().(*scanner)
	s.reset(r)
	s.maxRecord = o.MaxRecord
	s.keep = o.Keep
	defer func() {
		s.r, s.keep = nil, nil
		if cap(s.out) <= keepCap && cap(s.scratch) <= keepCap && cap(s.members) <= keepCap/16 {
			scanners.Put(s)
		}
	}()
	return s.lines(m.suffix(), w)
}

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

// fastRecord takes the common case in one go: a record that lies wholly in the read buffer is
// checked where it lies and copied to out in a few large pieces (one when it is compact), with
// no per-byte work beyond the check. When the buffer ends inside the record it is topped up (a
// few times at most, so that a reader trickling bytes cannot make this quadratic). It returns
// the record's length in the buffer, or 0 when slowRecord must take it: an error (slowRecord
// words it), deep nesting, or a record longer than the buffer.
func (s *scanner) fastRecord() int {
	for range 4 {
		n := s.scanCompact(s.buf[s.pos:s.end])
		if n >= 0 {
			return n
		}
		if s.rerr != nil || s.end-s.pos == len(s.buf) {
			return 0
		}
		s.end = copy(s.buf, s.buf[s.pos:s.end])
		s.pos = 0
		for s.end < len(s.buf) && s.rerr == nil {
			n, err := s.r.Read(s.buf[s.end:])
			s.end += n
			if err != nil {
				s.rerr = err
			}
			if n > 0 {
				break
			}
		}
	}
	return 0
}

// fastDepth bounds the nesting fastRecord follows (one bit a level); deeper records take the
// slow path, which allows maxDepth.
const fastDepth = 63

// scanCompact checks the record at the start of b (b[0] is its '{'), appends it to out
// without white space between tokens, and notes its top-level members. It returns the
// record's length in b, -1 when b ends inside it, or 0 when it is not valid JSON or too deep;
// out is left as it was unless it returns a length.
func (s *scanner) scanCompact(b []byte) int {
	start := len(s.out)
	n := s.scanInto(b)
	if n <= 0 {
		s.out = s.out[:start]
	}
	return n
}

func (s *scanner) scanInto(b []byte) int {
	const (
		objStart = iota // after '{': a key or '}'
		key             // after ',' in an object
		colon           // after a key
		value           // after ':', or after ',' in an array
		arrStart        // after '[': a value or ']'
		after           // after a value: ',' or the closer
	)
	s.members = s.members[:0]
	var objects uint64 = 1 // bit d: the container at depth d is an object
	depth, st := 0, objStart
	keyAt, colonAt := 0, 0
	seg, gone := 0, 0 // b[seg:] is not yet in out; gone bytes of white space were left out
	done := func(end int) int {
		s.out = append(s.out, b[seg:end]...)
		return end
	}
	i := 1
	for i < len(b) {
		c := b[i]
		if c <= ' ' {
			if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
				return 0
			}
			s.out = append(s.out, b[seg:i]...)
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\n' || b[j] == '\r' || b[j] == '\t') {
				j++
			}
			gone += j - i
			i, seg = j, j
			continue
		}
		switch st {
		case objStart, key:
			if c == '}' && st == objStart {
				if depth == 0 {
					return done(i + 1)
				}
				depth--
				i++
				st = after
				continue
			}
			if c != '"' {
				return 0
			}
			if depth == 0 {
				keyAt = i - gone
			}
			if i = compactString(b, i); i <= 0 {
				return i
			}
			st = colon
		case colon:
			if c != ':' {
				return 0
			}
			if depth == 0 {
				colonAt = i - gone
			}
			i++
			st = value
		case value, arrStart:
			switch {
			case c == '"':
				if i = compactString(b, i); i <= 0 {
					return i
				}
			case c == '{' || c == '[':
				if depth++; depth > fastDepth {
					return 0
				}
				i++
				if c == '{' {
					objects |= 1 << depth
					st = objStart
				} else {
					objects &^= 1 << depth
					st = arrStart
				}
				continue
			case c == ']' && st == arrStart:
				depth--
				i++
			case c == '-' || c >= '0' && c <= '9':
				if i = compactNumber(b, i); i <= 0 {
					return i
				}
			case c == 't':
				if i = literalAt(b, i, "true"); i <= 0 {
					return i
				}
			case c == 'f':
				if i = literalAt(b, i, "false"); i <= 0 {
					return i
				}
			case c == 'n':
				if i = literalAt(b, i, "null"); i <= 0 {
					return i
				}
			default:
				return 0
			}
			st = after
		case after:
			object := objects>>depth&1 == 1
			if depth == 0 && (c == ',' || c == '}') {
				s.members = append(s.members, member{key: keyAt, colon: colonAt, end: i - gone})
			}
			switch {
			case c == ',':
				if st = value; object {
					st = key
				}
			case c == '}' && object, c == ']' && !object:
				if depth == 0 {
					return done(i + 1)
				}
				depth--
			default:
				return 0
			}
			i++
		}
	}
	return -1
}

// compactString checks the string at b[i] (its opening quote) and returns the index after it,
// -1 when b ends inside it, or 0 when it is not valid.
func compactString(b []byte, i int) int {
	i++
	for {
		i += plainPrefix(b[i:])
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return -1
				}
				if !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return 0
				}
				i += 6
			default:
				return 0
			}
		default: // a control character
			return 0
		}
	}
}

// compactNumber checks the number at b[i] and returns the index after it, -1 when b ends
// inside it (a record cannot end in a number), or 0 when it is not valid.
func compactNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	digits := func(i int) int { // at least one digit
		if i >= len(b) {
			return -1
		}
		if b[i] < '0' || b[i] > '9' {
			return 0
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i >= len(b) {
			return -1
		}
		return i
	}
	if i >= len(b) {
		return -1
	}
	if b[i] == '0' {
		if i++; i >= len(b) {
			return -1
		}
	} else if i = digits(i); i <= 0 {
		return i
	}
	if b[i] == '.' {
		if i = digits(i + 1); i <= 0 {
			return i
		}
	}
	if b[i] == 'e' || b[i] == 'E' {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i = digits(i); i <= 0 {
			return i
		}
	}
	return i
}

// literalAt checks that b[i:] starts with word and returns the index after it, -1 when b ends
// inside it, or 0 when it differs.
func literalAt(b []byte, i int, word string) int {
	n := min(len(word), len(b)-i)
	if string(b[i:i+n]) != word[:n] {
		return 0
	}
	if n < len(word) {
		return -1
	}
	return i + n
}

// slowRecord is record for any layout, and for records split across reads: byte by byte, and
// words the errors.
func (s *scanner) slowRecord() error {
	start := len(s.out)
	s.recStart = start
	defer func() { s.recStart = -1 }()
	s.members = s.members[:0]
	s.out = append(s.out, '{')
	s.pos++
	c, ok := s.skipSpace()
	if !ok {
		return s.eofErr()
	}
	if c == '}' {
		s.pos++
		s.out = append(s.out, '}')
		return nil
	}
	for {
		if c != '"' {
			return syntaxErr("looking for the beginning of an object key", c)
		}
		key := len(s.out) - start
		if err := s.objectKey(); err != nil {
			return err
		}
		colon := len(s.out) - start - 1
		if err := s.value(2); err != nil {
			return err
		}
		s.members = append(s.members, member{key: key, colon: colon, end: len(s.out) - start})
		if c, ok = s.skipSpace(); !ok {
			return s.eofErr()
		}
		s.pos++
		if c == '}' {
			s.out = append(s.out, '}')
			return nil
		}
		if c != ',' {
			return syntaxErr("after an object value", c)
		}
		s.out = append(s.out, ',')
		if c, ok = s.skipSpace(); !ok {
			return s.eofErr()
		}
	}
}

// objectKey copies a key and its colon (the next byte is the key's opening quote).
func (s *scanner) objectKey() error {
	if err := s.str(); err != nil {
		return err
	}
	c, ok := s.skipSpace()
	if !ok {
		return s.eofErr()
	}
	if c != ':' {
		return syntaxErr("after an object key", c)
	}
	s.pos++
	s.out = append(s.out, ':')
	return nil
}

// value compacts any JSON value at nesting depth into out.
func (s *scanner) value(depth int) error {
	c, ok := s.skipSpace()
	if !ok {
		return s.eofErr()
	}
	switch {
	case c == '"':
		return s.str()
	case c == '{', c == '[':
		if depth > maxDepth {
			return fmt.Errorf("%w: exceeded max depth", ErrFormat)
		}
		return s.container(c, depth)
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return syntaxErr("looking for the beginning of a value", c)
}

// container compacts a nested object or array; open is its first byte, not yet consumed.
func (s *scanner) container(open byte, depth int) error {
	closer := byte(']')
	if open == '{' {
		closer = '}'
	}
	s.pos++
	s.out = append(s.out, open)
	c, ok := s.skipSpace()
	if !ok {
		return s.eofErr()
	}
	if c == closer {
		s.pos++
		s.out = append(s.out, closer)
		return nil
	}
	for {
		if open == '{' {
			if c != '"' {
				return syntaxErr("looking for the beginning of an object key", c)
			}
			if err := s.objectKey(); err != nil {
				return err
			}
		}
		if err := s.value(depth + 1); err != nil {
			return err
		}
		if c, ok = s.skipSpace(); !ok {
			return s.eofErr()
		}
		s.pos++
		if c == closer {
			s.out = append(s.out, closer)
			return nil
		}
		if c != ',' {
			return syntaxErr("after a value", c)
		}
		s.out = append(s.out, ',')
		if c, ok = s.skipSpace(); !ok {
			return s.eofErr()
		}
	}
}

// plain marks the bytes a string may hold unescaped: everything but controls, '"' and '\'.
// UTF-8 is checked once per record, not here.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// ones and highs are the masks of the word-at-a-time byte tests: 0x01 and 0x80 in every byte.
const ones, highs = 0x0101010101010101, 0x8080808080808080

// plainPrefix is the length of the longest prefix of b that a string may hold unescaped. Most
// of a blob's bytes are in strings: short ones are looked at 8 bytes at a time; past 32 bytes,
// the quote and the backslash are found by bytes.IndexByte (vector instructions) and the bytes
// before them are checked for control characters 16 at a time.
func plainPrefix(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if i == 32 {
			return i + longPlainPrefix(b[i:])
		}
		v := binary.LittleEndian.Uint64(b[i:])
		q, bs := v^(ones*'"'), v^(ones*'\\')
		// Each term flags the bytes that are '"', '\\' or below 0x20: the lowest flag exactly (a
		// borrow may flag bytes above it, which are not looked at); bytes >= 0x80 never.
		if m := ((q - ones) &^ q) | ((bs - ones) &^ bs) | ((v - ones*0x20) &^ v); m&highs != 0 {
			return i + bits.TrailingZeros64(m&highs)/8
		}
	}
	for i < len(b) && plain[b[i]] {
		i++
	}
	return i
}

func longPlainPrefix(b []byte) int {
	n := bytes.IndexByte(b, '"')
	if n < 0 {
		n = len(b)
	}
	if k := bytes.IndexByte(b[:n], '\\'); k >= 0 {
		n = k
	}
	i := 0
	for ; i+16 <= n; i += 16 {
		v, w := binary.LittleEndian.Uint64(b[i:]), binary.LittleEndian.Uint64(b[i+8:])
		if ((v-ones*0x20)&^v|(w-ones*0x20)&^w)&highs != 0 { // a byte below 0x20
			break
		}
	}
	for ; i < n; i++ {
		if b[i] < 0x20 {
			return i
		}
	}
	return n
}

// str copies a string (the next byte is its opening quote) as it is, escapes included.
func (s *scanner) str() error {
	s.pos++
	s.out = append(s.out, '"')
	for {
		if !s.fill() {
			return s.eofErr()
		}
		run := s.buf[s.pos:s.end]
		i := plainPrefix(run)
		s.out = append(s.out, run[:i]...)
		s.pos += i
		if i == len(run) {
			continue
		}
		c := run[i]
		s.pos++
		switch {
		case c == '"':
			s.out = append(s.out, '"')
			return nil
		case c == '\\':
			if err := s.escape(); err != nil {
				return err
			}
		default:
			return syntaxErr("in string literal", c)
		}
	}
}

// escape copies one escape sequence; its backslash is consumed already.
func (s *scanner) escape() error {
	c, err := s.next()
	if err != nil {
		return err
	}
	switch c {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.out = append(s.out, '\\', c)
		return nil
	case 'u':
		s.out = append(s.out, '\\', 'u')
		for range 4 {
			h, err := s.next()
			if err != nil {
				return err
			}
			if !isHex(h) {
				return syntaxErr("in \\u hexadecimal character escape", h)
			}
			s.out = append(s.out, h)
		}
		return nil
	}
	return syntaxErr("in string escape code", c)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// number copies a number as written: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?.
func (s *scanner) number() error {
	c, _ := s.next() // skipSpace saw it
	s.out = append(s.out, c)
	if c == '-' {
		var err error
		if c, err = s.next(); err != nil {
			return err
		}
		if c < '0' || c > '9' {
			return syntaxErr("in numeric literal", c)
		}
		s.out = append(s.out, c)
	}
	if c != '0' {
		s.digits()
	}
	if c, ok := s.peek(); ok && c == '.' {
		s.pos++
		s.out = append(s.out, '.')
		if err := s.someDigits(); err != nil {
			return err
		}
	}
	if c, ok := s.peek(); ok && (c == 'e' || c == 'E') {
		s.pos++
		s.out = append(s.out, c)
		if c, ok := s.peek(); ok && (c == '+' || c == '-') {
			s.pos++
			s.out = append(s.out, c)
		}
		if err := s.someDigits(); err != nil {
			return err
		}
	}
	return nil
}

func (s *scanner) peek() (byte, bool) {
	if !s.fill() {
		return 0, false
	}
	return s.buf[s.pos], true
}

// digits copies a run of zero or more digits.
func (s *scanner) digits() {
	for s.fill() {
		c := s.buf[s.pos]
		if c < '0' || c > '9' {
			return
		}
		s.out = append(s.out, c)
		s.pos++
	}
}

// someDigits copies a run of one or more digits.
func (s *scanner) someDigits() error {
	c, ok := s.peek()
	if !ok {
		return s.eofErr()
	}
	if c < '0' || c > '9' {
		return syntaxErr("in numeric literal", c)
	}
	s.digits()
	return nil
}

func (s *scanner) literal(word string) error {
	for i := range len(word) {
		c, err := s.next()
		if err != nil {
			return err
		}
		if c != word[i] {
			return syntaxErr("in literal "+word, c)
		}
	}
	s.out = append(s.out, word...)
	return nil
}

// topID finds the record's top-level "Id" string (not the Ids nested objects carry).
func (s *scanner) topID(obj []byte) ([]byte, bool) {
	for _, m := range s.members {
		if string(obj[m.key:m.colon]) != `"Id"` {
			continue
		}
		v := obj[m.colon+1 : m.end]
		if len(v) < 2 || v[0] != '"' {
			return nil, false
		}
		if in := v[1 : len(v)-1]; bytes.IndexByte(in, '\\') < 0 {
			return in, true
		}
		var id string
		if json.Unmarshal(v, &id) != nil {
			return nil, false
		}
		s.idBuf = append(s.idBuf[:0], id...)
		return s.idBuf, true
	}
	return nil, false
}

// needsRewrite decides from the top-level keys alone what mayClash over the whole record
// decided before (a search that is slow on JSON, which is full of the '"' it starts with): a
// record is rewritten when it has a metadata key, or when it has a key encoding/json would
// write differently (an escape, U+2028/U+2029) and mayClash holds. The output is the same
// bytes: without such keys the rewrite reproduced the record unchanged.
func (s *scanner) needsRewrite(obj []byte) bool {
	odd := false
	for _, m := range s.members {
		raw := obj[m.key:m.colon]
		if oddKey(raw) {
			odd = true // maybe an escaped metadata key: mayClash sees its \u00
			continue
		}
		if len(raw) >= len(`"contentId"`) && raw[1] == 'c' && isMetaKey(raw[1:len(raw)-1]) {
			return true
		}
	}
	return odd && mayClash(obj)
}

// oddKey tells whether a raw key holds an escape or a byte that may start U+2028/U+2029. Keys
// are short and plain ASCII: 8 bytes at a time, any '\\' or non-ASCII byte sends the key to
// the exact byte loop.
func oddKey(raw []byte) bool {
	i := 0
	for ; i+8 <= len(raw); i += 8 {
		v := binary.LittleEndian.Uint64(raw[i:])
		bs := v ^ (ones * '\\')
		if (v|(bs-ones)&^bs)&highs != 0 {
			break
		}
	}
	for _, c := range raw[i:] {
		if c == '\\' || c == 0xE2 {
			return true
		}
	}
	return false
}

// mayClash is a cheap pre-check: only objects that mention a metadata name, or escape a
// character in some string (a key could hide that way), need the rewrite. The test is on the
// whole record, not on its keys alone, because the rewrite also normalises escaped keys and the
// output must stay what it always was.
func mayClash(obj []byte) bool {
	return bytes.Contains(obj, []byte(`"content`)) || bytes.Contains(obj, []byte(`\u00`))
}

// dropKeys rewrites the record at out[start:] without its top-level metadata keys, keeping the
// order and the raw values of all others. Keys are written as encoding/json writes a string, as
// they always were on this path.
func (s *scanner) dropKeys(start int) error {
	s.scratch = append(s.scratch[:0], s.out[start:]...)
	rec := s.scratch
	s.out = append(s.out[:start], '{')
	first := true
	for _, m := range s.members {
		raw := rec[m.key:m.colon]
		if plainKey(raw) {
			if isMetaKey(raw[1 : len(raw)-1]) {
				continue
			}
			if !first {
				s.out = append(s.out, ',')
			}
			s.out = append(s.out, raw...)
		} else {
			var key string
			if err := json.Unmarshal(raw, &key); err != nil {
				return err
			}
			if isMetaKey([]byte(key)) {
				continue
			}
			if !first {
				s.out = append(s.out, ',')
			}
			var kb bytes.Buffer // rare: an escaped key, or U+2028/U+2029 in one
			writeString(&kb, key)
			s.out = append(s.out, kb.Bytes()...)
		}
		first = false
		s.out = append(s.out, rec[m.colon:m.end]...)
	}
	s.out = append(s.out, '}')
	return nil
}

// plainKey tells whether encoding/json would write a quoted key back byte for byte: no escapes,
// and no U+2028 or U+2029 (which it escapes).
func plainKey(raw []byte) bool {
	in := raw[1 : len(raw)-1]
	return bytes.IndexByte(in, '\\') < 0 && !bytes.Contains(in, []byte("\u2028")) && !bytes.Contains(in, []byte("\u2029"))
}

func isMetaKey(k []byte) bool {
	switch string(k) {
	case "contentUri", "contentId", "contentType", "contentCreated", "contentExpiration": // metaKeys
		return true
	}
	return false
}
