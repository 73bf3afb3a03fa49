// A record's identity: its top-level "Id". The writer finds it to deduplicate, and crash
// recovery finds it again in the lines the writer wrote: both go through idOf, so they agree.

package blob

import (
	"bytes"
	"encoding/json"
	"io"
)

// topID finds the record's top-level "Id" string (not the Ids nested objects carry).
func (s *scanner) topID(obj []byte) ([]byte, bool) {
	for _, m := range s.members {
		if !isIDKey(obj[m.key:m.colon]) {
			continue
		}
		// The first member named Id decides, whatever its value: a record whose Id is not a
		// string has none to deduplicate by.
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

// isIDKey tells whether a raw (quoted) key is "Id" as JSON reads it. The output line writes
// an escaped key plainly (the key-clash rewrite re-encodes it), so "\u0049d" in a record is
// "Id" in its line and must be its Id here too. Only \uXXXX escapes can spell I or d: the
// escaped forms are 9 or 14 bytes long, and the length test keeps the hot path to a compare.
func isIDKey(raw []byte) bool {
	switch len(raw) {
	case 4:
		return string(raw) == `"Id"`
	case 9, 14:
		var k string
		return bytes.IndexByte(raw, '\\') >= 0 && json.Unmarshal(raw, &k) == nil && k == "Id"
	}
	return false
}

// LineID returns the top-level "Id" string of one output line (or of one record): the Id the
// writer offered Options.Keep when it wrote the line. A line that is not exactly one JSON
// object, white space around it aside, has none.
func LineID(line []byte) (string, bool) {
	s := getScanner(bytes.NewReader(line))
	defer putScanner(s)
	if c, ok := s.skipSpace(); !ok || c != '{' {
		return "", false
	}
	if s.record() != nil {
		return "", false
	}
	if _, more := s.skipSpace(); more || s.rerr != io.EOF {
		return "", false
	}
	id, ok := s.topID(s.out)
	return string(id), ok
}
