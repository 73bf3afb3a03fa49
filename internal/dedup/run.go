package dedup

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
)

// A run is a sorted batch of keys spilled to a temporary file, so that the memory of the
// index does not grow with the number of records it remembers: only a Bloom filter (10 bits
// a key) and every fenceEvery-th key stay in memory. A lookup that passes the filter reads one
// block of the file.
type run struct {
	f      *os.File
	name   string
	n      int
	fences []Key // the key at each multiple of fenceEvery
	bloom  bloom
}

const fenceEvery = 128

// spill writes entries (sorted here) to a new run file in dir.
func spill(dir string, entries []entry) (*run, error) {
	slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.key[:], b.key[:]) })
	f, err := os.CreateTemp(dir, ".o365logfetch-records-run-*")
	if err != nil {
		return nil, err
	}
	// The run is scratch: the journal is what survives a crash. Unlinking it now leaves no file
	// behind whatever happens (the open descriptor keeps it readable); where the system refuses
	// to unlink an open file, close removes it.
	_ = os.Remove(f.Name())
	r := &run{f: f, name: f.Name(), n: len(entries), bloom: newBloom(len(entries))}
	w := bufio.NewWriterSize(f, 256<<10)
	var rec [entrySize]byte
	for i, e := range entries {
		if i%fenceEvery == 0 {
			r.fences = append(r.fences, e.key)
		}
		r.bloom.add(e.key)
		copy(rec[:16], e.key[:])
		binary.LittleEndian.PutUint32(rec[16:], e.hour)
		if _, err := w.Write(rec[:]); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// find looks k up; it returns the hour it was written and whether it is there.
func (r *run) find(k Key) (uint32, bool, error) {
	if !r.bloom.test(k) {
		return 0, false, nil
	}
	// The block whose first key is the last one <= k.
	b := sort.Search(len(r.fences), func(i int) bool { return bytes.Compare(r.fences[i][:], k[:]) > 0 }) - 1
	if b < 0 {
		return 0, false, nil
	}
	lo := b * fenceEvery
	n := min(fenceEvery, r.n-lo)
	var block [fenceEvery * entrySize]byte
	buf := block[:n*entrySize]
	if _, err := r.f.ReadAt(buf, int64(lo*entrySize)); err != nil && err != io.EOF {
		return 0, false, fmt.Errorf("record index run: %w", err)
	}
	i := sort.Search(n, func(i int) bool { return bytes.Compare(buf[i*entrySize:i*entrySize+16], k[:]) >= 0 })
	if i < n && bytes.Equal(buf[i*entrySize:i*entrySize+16], k[:]) {
		return binary.LittleEndian.Uint32(buf[i*entrySize+16:]), true, nil
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

// bloom is a Bloom filter over keys: 10 bits a key and 7 probes give about 1 % false
// positives, each costing one block read.
type bloom struct {
	bits []uint64
	m    uint64
}

const bloomProbes = 7

func newBloom(n int) bloom {
	m := uint64(max(n, 1)) * 10
	return bloom{bits: make([]uint64, (m+63)/64), m: m}
}

// hashes mixes the two halves of a key: GUIDs are not all random (some carry time or a
// sequence), so their bytes are not used as they are.
func hashes(k Key) (uint64, uint64) {
	return mix(binary.LittleEndian.Uint64(k[:8])), mix(binary.LittleEndian.Uint64(k[8:])) | 1
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (b *bloom) add(k Key) {
	h1, h2 := hashes(k)
	for i := range uint64(bloomProbes) {
		p := (h1 + i*h2) % b.m
		b.bits[p/64] |= 1 << (p % 64)
	}
}

func (b *bloom) test(k Key) bool {
	h1, h2 := hashes(k)
	for i := range uint64(bloomProbes) {
		p := (h1 + i*h2) % b.m
		if b.bits[p/64]&(1<<(p%64)) == 0 {
			return false
		}
	}
	return true
}
