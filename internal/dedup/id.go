package dedup

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Key is the fixed-size form of a record Id: the 16 bytes of a GUID, or the first 16 bytes of
// the SHA-256 of any other Id (collisions are out of reach either way).
type Key [16]byte

// KeyOf returns the key of a record Id.
func KeyOf(id string) Key { return KeyOfBytes([]byte(id)) }

// KeyOfBytes is KeyOf for an Id in bytes, without allocating.
func KeyOfBytes(id []byte) Key {
	var k Key
	if parseGUID(id, &k) {
		return k
	}
	sum := sha256.Sum256(id)
	copy(k[:], sum[:16])
	k[6] = k[6]&0x0f | 0xf0 // version nibble F never occurs in a GUID written by Microsoft
	return k
}

func parseGUID(s []byte, k *Key) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	var hexDigits [32]byte
	n := 0
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		c := s[i]
		if c >= 'A' && c <= 'F' {
			c += 'a' - 'A'
		}
		hexDigits[n] = c
		n++
	}
	_, err := hex.Decode(k[:], hexDigits[:])
	return err == nil && k[6]&0xf0 != 0xf0
}

// TopLevelID finds the "Id" member of a JSON object (top level only: records carry nested
// objects with Ids of their own) and returns its string value.
func TopLevelID(obj []byte) (string, bool) {
	s := scanner{b: obj}
	s.space()
	if !s.eat('{') {
		return "", false
	}
	for {
		s.space()
		if s.eat('}') {
			return "", false
		}
		keyStart := s.i
		if !s.skipString() {
			return "", false
		}
		key := obj[keyStart:s.i]
		s.space()
		if !s.eat(':') {
			return "", false
		}
		s.space()
		valStart := s.i
		if !s.skipValue() {
			return "", false
		}
		if string(key) == `"Id"` && obj[valStart] == '"' {
			var id string
			if json.Unmarshal(obj[valStart:s.i], &id) != nil {
				return "", false
			}
			return id, true
		}
		s.space()
		if !s.eat(',') {
			return "", false
		}
	}
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) skipString() bool {
	if !s.eat('"') {
		return false
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return true
		default:
			s.i++
		}
	}
	return false
}

// skipValue moves past one JSON value; nested containers are skipped by depth, strings by
// their escapes. It trusts that the input is valid JSON (lines we wrote ourselves).
func (s *scanner) skipValue() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		return s.skipString()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if !s.skipString() {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	default:
		for s.i < len(s.b) && s.b[s.i] != ',' && s.b[s.i] != '}' && s.b[s.i] != ']' {
			s.i++
		}
		return true
	}
}
