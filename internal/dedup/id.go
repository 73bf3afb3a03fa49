package dedup

import (
	"crypto/sha256"
	"encoding/hex"
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
