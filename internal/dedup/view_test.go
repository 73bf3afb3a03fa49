package dedup

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A view reads what a run flushed, cuts the entry the run is still appending, spills to its
// own scratch directory and leaves the index file and its directory exactly as they were.
func TestViewReadsBesideARunAndWritesNothing(t *testing.T) {
	defer func(n int) { spillAt = n }(spillAt)
	spillAt = 64
	dir, scratch := t.TempDir(), t.TempDir()
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	x, err := OpenFile(dir, "blobs.idx", 48*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	var keys []Key
	for i := range 500 {
		keys = append(keys, KeyOf(fmt.Sprintf("blob-%d", i)))
	}
	x.Remember(keys, now)
	if err := x.Flush(noSync); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "blobs.idx")
	// The run is in the middle of appending its next entry.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	hw := KeyOf("half-written")
	f.Write(hw[:7])
	f.Close()
	before, _ := os.ReadFile(path)
	entries, _ := os.ReadDir(dir)

	v, err := View(path, scratch, 48*time.Hour, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for i, k := range keys {
		if !v.Has(k) {
			t.Fatalf("key %d not seen by the view", i)
		}
		if at, ok := v.WrittenAt(k); !ok || !at.Equal(now.Truncate(time.Hour)) {
			t.Fatalf("key %d written at %s (%v), want %s", i, at, ok, now.Truncate(time.Hour))
		}
	}
	if v.Has(KeyOf("half-written")) || v.Has(KeyOf("blob-500")) {
		t.Error("the view claims a key never flushed")
	}
	if len(v.runs) == 0 {
		t.Error("the view did not spill: the test does not show where spills go")
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(before) {
		t.Error("the view changed the index file")
	}
	if now, _ := os.ReadDir(dir); len(now) != len(entries) {
		t.Errorf("the view left files in the index's directory: %d entries, had %d", len(now), len(entries))
	}
}

// A missing file is an empty view: nothing was written yet.
func TestViewOfNoFileIsEmpty(t *testing.T) {
	v, err := View(filepath.Join(t.TempDir(), "none.idx"), t.TempDir(), time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if v.Has(KeyOf("x")) || v.Len() != 0 {
		t.Error("an absent index has keys")
	}
}
