package dedup

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/layout"
)

func TestKeyOf(t *testing.T) {
	a := KeyOf("80c76bd2-9d81-4c57-a97a-accfc3443dca")
	if a != KeyOf("80C76BD2-9D81-4C57-A97A-ACCFC3443DCA") {
		t.Error("GUID case changes the key")
	}
	if a == KeyOf("80c76bd2-9d81-4c57-a97a-accfc3443dcb") {
		t.Error("different GUIDs share a key")
	}
	x, y := "not-a-guid", "not-a-guid"
	if KeyOf(x) != KeyOf(y) || KeyOf(x) == KeyOf("not-a-guie") {
		t.Error("hashed keys are not stable or collide")
	}
	if k := KeyOf("ffffffff-ffff-ffff-ffff-ffffffffffff"); k == (Key{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) {
		t.Error("a GUID with version nibble f must be hashed, not taken as is")
	}
}

func TestClaimCommitRelease(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	x, err := Open(dir, 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	a, b := KeyOf("a"), KeyOf("b")
	if !x.Claim(a, 1) {
		t.Fatal("first claim refused")
	}
	if x.Claim(a, 2) {
		t.Error("a record being written by blob 1 was claimable by blob 2")
	}
	if x.Claim(a, 1) {
		t.Error("a record repeated within one blob was claimed twice")
	}
	x.Release([]Key{a}, 1)
	if !x.Claim(a, 2) {
		t.Error("a released record was not claimable again")
	}
	x.Commit([]Key{a}, 2, now)
	if x.Claim(a, 3) {
		t.Error("a written record was claimable again")
	}
	x.Remember([]Key{b}, now)
	if err := x.Flush(noSync); err != nil {
		t.Fatal(err)
	}
	x.Close()

	// Another run sees both; a later one, past the horizon, sees neither.
	y, err := Open(dir, 24*time.Hour, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if y.Claim(a, 1) || y.Claim(b, 1) || y.Len() != 2 {
		t.Errorf("reopened index forgot keys (len %d)", y.Len())
	}
	if err := y.Compact(now.Add(time.Hour), noSync); err != nil {
		t.Fatal(err)
	}
	z, err := Open(dir, 24*time.Hour, now.Add(26*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if z.Len() != 0 || !z.Claim(a, 1) {
		t.Errorf("keys past the horizon kept (len %d)", z.Len())
	}
}

func TestPartialEntryFromACrashIsCut(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	x, _ := Open(dir, time.Hour, now)
	x.Remember([]Key{KeyOf("a"), KeyOf("b")}, now)
	if err := x.Flush(noSync); err != nil {
		t.Fatal(err)
	}
	x.Close()
	path := filepath.Join(dir, layout.RecordIndex)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{1, 2, 3}) // torn write
	f.Close()
	y, err := Open(dir, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if y.Len() != 2 {
		t.Fatalf("len = %d, want 2", y.Len())
	}
	y.Remember([]Key{KeyOf("c")}, now)
	if err := y.Flush(noSync); err != nil {
		t.Fatal(err)
	}
	y.Close()
	z, _ := Open(dir, time.Hour, now)
	if z.Len() != 3 {
		t.Fatalf("after appending past a torn entry: len = %d, want 3", z.Len())
	}
}

func TestForeignFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, layout.RecordIndex), []byte("hello"), 0o600)
	_, err := Open(dir, time.Hour, time.Now())
	if err == nil || !strings.Contains(err.Error(), layout.RecordIndex) {
		t.Fatalf("err = %v", err)
	}
}

func TestConcurrentClaimsGiveEachKeyOnce(t *testing.T) {
	x, _ := Open(t.TempDir(), time.Hour, time.Now())
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[Key]int{}
	for owner := uint64(1); owner <= 8; owner++ {
		wg.Go(func() {
			for i := range 200 {
				k := KeyOf(string(rune('a' + i%50)))
				if x.Claim(k, owner) {
					x.Commit([]Key{k}, owner, time.Now())
					mu.Lock()
					won[k]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(won) != 50 {
		t.Errorf("%d keys claimed, want 50", len(won))
	}
	for k, n := range won {
		if n != 1 {
			t.Errorf("key %x claimed %d times", k, n)
		}
	}
}

func noSync() error { return nil }

// A run that died while creating the index left an empty file or part of the header: that is
// an empty index, not a foreign file that stops every later run.
func TestHeaderCutByACrashIsAnEmptyIndex(t *testing.T) {
	for _, content := range []string{"", "O365"} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, layout.RecordIndex), []byte(content), 0o600)
		x, err := Open(dir, time.Hour, time.Now())
		if err != nil {
			t.Fatalf("%q: %v", content, err)
		}
		x.Remember([]Key{KeyOf("a")}, time.Now())
		if err := x.Flush(noSync); err != nil {
			t.Fatalf("%q: flush: %v", content, err)
		}
		x.Close()
		y, err := Open(dir, time.Hour, time.Now())
		if err != nil || y.Len() != 1 {
			t.Fatalf("%q: reopened: len %d, %v", content, y.Len(), err)
		}
	}
}

// Keys committed while the outputs are being synced wait for the next flush: only keys whose
// lines were appended before the sync reach the index.
func TestFlushTakesOnlyKeysCommittedBeforeTheSync(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	x, _ := Open(dir, time.Hour, now)
	a, b := KeyOf("a"), KeyOf("b")
	x.Claim(a, 1)
	x.Commit([]Key{a}, 1, now)
	err := x.Flush(func() error {
		x.Claim(b, 2) // another worker appends and commits during the sync
		x.Commit([]Key{b}, 2, now)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	x.Close()
	y, _ := Open(dir, time.Hour, now)
	if y.Len() != 1 || y.Claim(a, 9) || !y.Claim(b, 9) {
		t.Fatalf("index after the flush holds %d keys; want only the one committed before the sync", y.Len())
	}
	// A failed sync keeps the batch for the next flush.
	z, _ := Open(t.TempDir(), time.Hour, now)
	z.Remember([]Key{a}, now)
	if err := z.Flush(func() error { return os.ErrInvalid }); err == nil {
		t.Fatal("flush ignored a failed sync")
	}
	if err := z.Flush(noSync); err != nil {
		t.Fatal(err)
	}
}

// Keys spilled to run files are still found, survive a flush, a compaction and a reopen, and
// keys past the horizon are dropped from every place.
func TestSpilledKeysAreRemembered(t *testing.T) {
	defer func(n int) { spillAt = n }(spillAt)
	spillAt = 64
	dir := t.TempDir()
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	x, err := Open(dir, 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]Key, 1000)
	for i := range keys {
		keys[i] = KeyOf(fmt.Sprintf("record-%d", i))
		if !x.Claim(keys[i], uint64(i)) {
			t.Fatalf("new key %d refused", i)
		}
		x.Commit(keys[i:i+1], uint64(i), now)
	}
	if len(x.runs) < 10 {
		t.Fatalf("%d runs: the test did not spill", len(x.runs))
	}
	for i, k := range keys {
		if x.Claim(k, 5000) {
			t.Fatalf("spilled key %d claimable again", i)
		}
	}
	if x.Len() != 1000 {
		t.Errorf("len = %d, want 1000", x.Len())
	}
	fresh := 0
	for i := range 1000 {
		if x.Claim(KeyOf(fmt.Sprintf("other-%d", i)), 6000) {
			fresh++
		}
	}
	if fresh != 1000 {
		t.Errorf("%d of 1000 unknown keys claimable: a false positive must never refuse a key", fresh)
	}
	if err := x.Compact(now, noSync); err != nil {
		t.Fatal(err)
	}
	x.Close()
	if left, _ := filepath.Glob(filepath.Join(dir, ".o365logfetch-records-run-*")); len(left) != 0 {
		t.Errorf("run files left behind: %v", left)
	}

	y, err := Open(dir, 24*time.Hour, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if y.Claim(k, 7000) {
			t.Fatalf("key %d forgotten after compaction and reopen", i)
		}
	}
	y.Close()
	z, err := Open(dir, 24*time.Hour, now.Add(30*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if z.Len() != 0 || !z.Claim(keys[0], 1) {
		t.Errorf("keys past the horizon kept (len %d)", z.Len())
	}
	z.Close()
}

// A spill moves the written keys to a run; keys claimed by a blob still being written stay
// claimed by it, and its commit or release still counts.
func TestClaimsOutliveASpill(t *testing.T) {
	defer func(n int) { spillAt = n }(spillAt)
	spillAt = 64
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	x, err := Open(t.TempDir(), 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	kept, dropped := KeyOf("claimed-then-committed"), KeyOf("claimed-then-released")
	if !x.Claim(kept, 1) || !x.Claim(dropped, 2) {
		t.Fatal("new keys refused")
	}
	for i := range 200 { // three spills while both claims are open
		k := KeyOf(fmt.Sprintf("record-%d", i))
		if !x.Claim(k, 3) {
			t.Fatalf("new key %d refused", i)
		}
		x.Commit([]Key{k}, 3, now)
	}
	if len(x.runs) < 3 {
		t.Fatalf("%d runs: the test did not spill", len(x.runs))
	}
	if x.Claim(kept, 9) || x.Claim(dropped, 9) {
		t.Fatal("a claim was lost in a spill: another blob could write the record too")
	}
	x.Commit([]Key{kept}, 1, now)
	x.Release([]Key{dropped}, 2)
	if x.Claim(kept, 9) {
		t.Error("a key committed after a spill is claimable again")
	}
	if !x.Claim(dropped, 9) {
		t.Error("a key released after a spill stays refused: its record would be lost")
	}
	if got := x.Len(); got != 201 {
		t.Errorf("len = %d, want 201", got)
	}
}
