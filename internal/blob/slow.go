// The slow path: byte by byte, for any layout and for records split across reads; it words
// the errors.

package blob

import (
	"fmt"
)

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
		var done bool
		var err error
		if c, done, err = s.afterValue('}', "after an object value"); err != nil || done {
			return err
		}
	}
}

// afterValue takes what follows a member or an element: the closer (done), or a ',' and the
// white space after it, c being the byte after that. where words a syntax error.
func (s *scanner) afterValue(closer byte, where string) (c byte, done bool, err error) {
	c, ok := s.skipSpace()
	if !ok {
		return 0, false, s.eofErr()
	}
	s.pos++
	if c == closer {
		s.out = append(s.out, closer)
		return 0, true, nil
	}
	if c != ',' {
		return 0, false, syntaxErr(where, c)
	}
	s.out = append(s.out, ',')
	if c, ok = s.skipSpace(); !ok {
		return 0, false, s.eofErr()
	}
	return c, false, nil
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
		var done bool
		var err error
		if c, done, err = s.afterValue(closer, "after a value"); err != nil || done {
			return err
		}
	}
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
