// Word-at-a-time helpers: the byte tests that find the end of a string's plain run.

package blob

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

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
