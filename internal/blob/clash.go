// Key-clash rewriting: a record that carries a listing metadata key of its own.

package blob

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
)

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
