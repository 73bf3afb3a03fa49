package dedup

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkClaimCommit measures the record index as a run uses it: each blob claims its 150
// keys one by one while it is scanned, then commits them; the index spills as it fills. One op
// is one record.
func BenchmarkClaimCommit(b *testing.B) {
	const perBlob = 150
	x, err := Open(b.TempDir(), 24*time.Hour, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]Key, 0, perBlob)
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		keys = keys[:0]
		owner := uint64(i)
		for j := 0; j < perBlob && i < b.N; j++ {
			var k Key
			binary.LittleEndian.PutUint64(k[:8], rng.Uint64())
			binary.LittleEndian.PutUint64(k[8:], rng.Uint64())
			k[6] = k[6]&0x0f | 0x40
			if x.Claim(k, owner) {
				keys = append(keys, k)
			}
			i++
		}
		x.Commit(keys, owner, now)
		if x.Unflushed() > 1<<14 {
			if err := x.Flush(noSync); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func TestRunFindsEveryKeyAndNoOther(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	randomKey := func() Key {
		var k Key
		binary.LittleEndian.PutUint64(k[:8], rng.Uint64())
		binary.LittleEndian.PutUint64(k[8:], rng.Uint64())
		return k
	}
	for _, n := range []int{1, 63, 64, 1000, 20000} {
		entries := make([]entry, n)
		for i := range entries {
			entries[i] = entry{randomKey(), uint32(i)}
		}
		want := entries
		r, _, err := spill(t.TempDir(), len(entries), each(entries), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range want {
			if h, ok, err := r.find(e.key); err != nil || !ok || h != e.hour {
				t.Fatalf("n=%d: find(%x) = %d, %v, %v; want %d", n, e.key, h, ok, err, e.hour)
			}
		}
		falsePositives := 0
		for range n {
			if _, ok, err := r.find(randomKey()); err != nil {
				t.Fatal(err)
			} else if ok {
				falsePositives++
			}
		}
		if falsePositives > 0 {
			t.Errorf("n=%d: %d keys never spilled were found", n, falsePositives)
		}
		seen := 0
		if err := r.each(func(entry) error { seen++; return nil }); err != nil || seen != n {
			t.Errorf("n=%d: each saw %d entries, %v", n, seen, err)
		}
		r.close()
	}
}

// Keys that differ in a few bytes only, at either end (GUIDs that carry a sequence), must spread
// over the buckets and the filter like random ones: grouped, every lookup would read one huge
// bucket and pass one saturated filter block.
func TestRunSpreadsKeysThatDifferInFewBytes(t *testing.T) {
	const n = 20000
	for _, at := range []int{0, 8, 14} { // where the varying bytes are
		var entries []entry
		for i := range n {
			var k Key
			for j := range k {
				k[j] = 0x5a
			}
			binary.BigEndian.PutUint16(k[at:], uint16(i))
			entries = append(entries, entry{k, 1})
		}
		r, _, err := spill(t.TempDir(), n, each(entries), nil)
		if err != nil {
			t.Fatal(err)
		}
		largest := 0
		for b := range len(r.starts) - 1 {
			largest = max(largest, int(r.starts[b+1]-r.starts[b]))
		}
		if largest > 4*bucketSize {
			t.Errorf("varying bytes at %d: largest bucket holds %d keys, mean %d", at, largest, bucketSize)
		}
		falsePositives := 0
		for i := range n { // absent keys of the same shape
			var k Key
			for j := range k {
				k[j] = 0x5a
			}
			binary.BigEndian.PutUint16(k[at:], uint16(i))
			k[(at+4)%16] ^= 0xff
			if r.bloom.test(k) {
				falsePositives++
			}
		}
		if falsePositives > n/20 {
			t.Errorf("varying bytes at %d: filter passes %d of %d absent keys", at, falsePositives, n)
		}
		r.close()
	}
}

// each yields entries as spill takes them.
func each(entries []entry) func(yield func(Key, uint32) bool) {
	return func(yield func(Key, uint32) bool) {
		for _, e := range entries {
			if !yield(e.key, e.hour) {
				return
			}
		}
	}
}
