// The fast path: a record that lies wholly in the read buffer, checked and compacted in place.

package blob

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

// scanInto is scanCompact's loop, without the undo of out on failure. It is a state machine
// over b, one token at a time, that validates and compacts at once:
//
//   - st is what may come next (objStart: a key or '}'; key: a key after ','; colon; value: a
//     value after ':' or ','; arrStart: a value or ']'; after: ',' or the closer). depth is
//     the nesting below the record, and bit d of objects says whether the container at depth
//     d is an object, so the closer and the ',' state are checked without a stack.
//   - Compacting copies in runs: b[seg:] is the part of the record not yet in out. White space
//     between tokens ends a run (out gets b[seg:i]) and starts the next after it; gone counts
//     the bytes so left out, which turns an index in b into an offset in the compacted record.
//     A compact record is one run, copied by done at its closing '}'.
//   - At depth 0, keyAt and colonAt note the current member's key and colon as offsets in the
//     compacted record, and the ',' or '}' after its value closes it into s.members (read by
//     topID and the key-clash rewrite).
//   - Strings, numbers and literals are checked by compactString, compactNumber and literalAt,
//     which return the index after the token, -1 when b ends inside it, or 0 when invalid; the
//     same three results are scanInto's own (length of the record, -1, 0).
//
// Nesting deeper than fastDepth returns 0, so that slowRecord (which allows maxDepth) takes
// the record; so does a control byte outside a string.
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
