package dedup

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"math/bits"
	"os"
	"slices"

	"github.com/o365logfetch/o365logfetch/internal/layout"
)

// A run is a batch of keys spilled to a temporary file, so that the memory of the index does
// not grow with the number of records it remembers. The file is a static hash table: keys
// grouped by bucket, about bucketSize to a bucket. Only a Bloom filter (10 bits a key) and the
// bucket offsets (a few bits a key) stay in memory; a lookup that passes the filter reads one
// bucket. Grouping is a counting sort, linear in the keys: a comparison sort of a spill cost a
// third of the index's time.
type run struct {
	f      *os.File
	name   string
	n      int
	starts []uint32 // bucket b holds the entries [starts[b], starts[b+1])
	bloom  bloom
}

const bucketSize = 64

// bucketOf maps k onto [0, n) by a multiply (not a division) of its hash.
func bucketOf(k *Key, n uint64) uint64 {
	b, _ := bits.Mul64(keyHash(k), n)
	return b
}

// spill writes the n entries of each (which it goes through twice) to a new run file in dir,
// grouped by bucket in buf (grown as needed and returned for reuse).
func spill(dir string, n int, each iter.Seq2[Key, uint32], buf []byte) (*run, []byte, error) {
	nb := uint64(max(n/bucketSize, 1))
	r := &run{n: n, starts: make([]uint32, nb+1), bloom: newBloom(n)}
	for k := range each {
		r.starts[bucketOf(&k, nb)+1]++
	}
	for b := range nb {
		r.starts[b+1] += r.starts[b]
	}
	next := slices.Clone(r.starts[:nb])
	if need := n * entrySize; cap(buf) < need {
		buf = make([]byte, need)
	}
	buf = buf[:n*entrySize]
	for k, h := range each {
		b := bucketOf(&k, nb)
		rec := buf[int(next[b])*entrySize : int(next[b]+1)*entrySize]
		next[b]++
		copy(rec[:16], k[:])
		binary.LittleEndian.PutUint32(rec[16:], h)
		r.bloom.add(k)
	}
	f, err := os.CreateTemp(dir, layout.IndexRunPattern)
	if err != nil {
		return nil, buf, err
	}
	// The run is scratch: the journal is what survives a crash. Unlinking it now leaves no file
	// behind whatever happens (the open descriptor keeps it readable); where the system refuses
	// to unlink an open file, close removes it.
	_ = os.Remove(f.Name())
	r.f, r.name = f, f.Name()
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return nil, buf, err
	}
	return r, buf, nil
}

// find looks k up; it returns the hour it was written and whether it is there.
func (r *run) find(k Key) (uint32, bool, error) {
	if !r.bloom.test(k) {
		return 0, false, nil
	}
	b := bucketOf(&k, uint64(len(r.starts)-1))
	lo, hi := int(r.starts[b]), int(r.starts[b+1])
	var block [4 * bucketSize * entrySize]byte // a bucket rarely holds more than 4× the mean
	var buf []byte
	if n := (hi - lo) * entrySize; n <= len(block) {
		buf = block[:n]
	} else {
		buf = make([]byte, n)
	}
	if _, err := r.f.ReadAt(buf, int64(lo*entrySize)); err != nil && err != io.EOF {
		return 0, false, fmt.Errorf("record index run: %w", err)
	}
	for i := 0; i < len(buf); i += entrySize {
		if bytes.Equal(buf[i:i+16], k[:]) {
			return binary.LittleEndian.Uint32(buf[i+16:]), true, nil
		}
	}
	return 0, false, nil
}

// each streams the run's entries.
func (r *run) each(fn func(entry) error) error {
	br := bufio.NewReaderSize(io.NewSectionReader(r.f, 0, int64(r.n*entrySize)), 256<<10)
	var rec [entrySize]byte
	for range r.n {
		if _, err := io.ReadFull(br, rec[:]); err != nil {
			return fmt.Errorf("record index run: %w", err)
		}
		var e entry
		copy(e.key[:], rec[:16])
		e.hour = binary.LittleEndian.Uint32(rec[16:])
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) close() {
	r.f.Close()
	_ = os.Remove(r.name)
}

// bloom is a blocked Bloom filter over keys: each key sets 7 bits within one 512-bit block (a
// cache line), so that a lookup, made for every record against every run, costs one memory
// access. At 10 bits a key that gives about 1 % false positives, each costing one block read.
type bloom struct {
	bits    []uint64
	nblocks uint64
}

const (
	bloomProbes = 7
	blockWords  = 8 // 512 bits
)

func newBloom(n int) bloom {
	nb := (uint64(max(n, 1))*10 + 511) / 512
	return bloom{bits: make([]uint64, nb*blockWords), nblocks: nb}
}

// keyHash mixes all 16 bytes of a key. GUIDs are not all random: some carry time or a sequence
// and differ only in a few bytes, at either end, so every byte must move every bit of the hash
// (keys sharing their first 8 bytes once all fell in one bucket and one filter block).
func keyHash(k *Key) uint64 {
	return mix(binary.LittleEndian.Uint64(k[:8]) ^ mix(binary.LittleEndian.Uint64(k[8:])^0x9e3779b97f4a7c15))
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// block picks the key's block (its hash mapped onto [0, nblocks) by a multiply, not a
// division); a second mix of the hash gives the 7 bit positions in it, 9 bits each.
func (b *bloom) block(k Key) ([]uint64, uint64) {
	h := keyHash(&k)
	i, _ := bits.Mul64(h, b.nblocks)
	return b.bits[i*blockWords : (i+1)*blockWords : (i+1)*blockWords], mix(h ^ 0x5851f42d4c957f2d)
}

func (b *bloom) add(k Key) {
	blk, h := b.block(k)
	for range bloomProbes {
		p := h & 511
		blk[p/64] |= 1 << (p % 64)
		h >>= 9
	}
}

func (b *bloom) test(k Key) bool {
	blk, h := b.block(k)
	for range bloomProbes {
		p := h & 511
		if blk[p/64]&(1<<(p%64)) == 0 {
			return false
		}
		h >>= 9
	}
	return true
}
