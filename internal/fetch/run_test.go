package fetch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/activity"
	"github.com/o365logfetch/o365logfetch/internal/localfs"
	"github.com/o365logfetch/o365logfetch/internal/state"
	"github.com/o365logfetch/o365logfetch/internal/window"
)

const ct = "Audit.General"

var errUnavailable = &activity.APIError{Op: "download", Status: 503, Code: "AF50000", Message: "An internal error occurred"}

// The delivery decisions of one run, each scenario a run (or two) against the fake API and the
// real state store: what is written, where the saved end goes, what stays pending.
func TestDelivery(t *testing.T) {
	tests := []struct {
		name string
		test func(t *testing.T, w *world)
	}{
		{"first run fetches the lookback and saves now", func(t *testing.T, w *world) {
			old := w.api.add(ct, "before-lookback", w.now.Add(-7*time.Hour), 1)
			a := w.api.add(ct, "a", w.now.Add(-5*time.Hour), 3)
			b := w.api.add(ct, "b", w.now.Add(-time.Minute), 2)
			res, err := w.run(nil, ct)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := w.ids(ct), records(a, b); !same(got, want) {
				t.Errorf("written %v, want %v (not %s: before the lookback)", got, want, old.id)
			}
			tr := res.Types[0]
			if tr.Fetched != 2 || tr.Records != 5 || !tr.End.Equal(w.now) || len(tr.Problems) != 0 {
				t.Errorf("result %+v", tr)
			}
			if s := w.saved(ct); !s.End.Equal(w.now) || len(s.Pending) != 0 {
				t.Errorf("saved %+v, want end %s and nothing pending", s, w.now)
			}
		}},
		{"a failing blob pins the end at its creation and stays pending", func(t *testing.T, w *world) {
			a := w.api.add(ct, "a", w.now.Add(-5*time.Hour), 1)
			bad := w.api.add(ct, "bad", w.now.Add(-3*time.Hour+500*time.Millisecond), 1)
			c := w.api.add(ct, "c", w.now.Add(-time.Hour), 1)
			w.api.failBlob["bad"] = errUnavailable
			res, err := w.run(nil, ct)
			if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "blob bad") {
				t.Fatalf("err = %v, want incomplete naming the blob", err)
			}
			if got, want := w.ids(ct), records(a, c); !same(got, want) {
				t.Errorf("written %v, want %v", got, want)
			}
			s := w.saved(ct)
			if want := bad.created.Truncate(time.Second); !s.End.Equal(want) || !res.Types[0].End.Equal(want) {
				t.Errorf("saved end %s, result end %s, want %s", s.End, res.Types[0].End, want)
			}
			if p, ok := s.Pending["bad"]; !ok || p.Attempts != 1 || !p.FirstFailure.Equal(w.now) || !strings.Contains(p.Error, "AF50000") {
				t.Errorf("pending %+v", s.Pending)
			}

			// The next run fetches it, drops it from pending and moves the end to now,
			// writing nothing twice (the overlap lists c again).
			delete(w.api.failBlob, "bad")
			w.now = w.now.Add(10 * time.Minute)
			if _, err := w.run(nil, ct); err != nil {
				t.Fatal(err)
			}
			if got, want := w.ids(ct), records(a, c, bad); !same(got, want) {
				t.Errorf("written %v, want %v", got, want)
			}
			if s := w.saved(ct); !s.End.Equal(w.now) || len(s.Pending) != 0 {
				t.Errorf("saved %+v", s)
			}
		}},
		{"a blob failing for over a day stays pending but no longer pins the end", func(t *testing.T, w *world) {
			w.api.add(ct, "bad", w.now.Add(-3*time.Hour), 1)
			w.api.failBlob["bad"] = errUnavailable
			seed(t, w, func(s *state.State) {
				s.Types[ct] = &state.Type{End: w.now.Add(-4 * time.Hour), Pending: map[string]state.Pending{"bad": {
					ContentURI: "https://api.example/blob/bad", ContentCreated: w.now.Add(-3 * time.Hour).Format(apiTime),
					Attempts: 30, FirstFailure: w.now.Add(-25 * time.Hour)}}}
			})
			if _, err := w.run(nil, ct); !errors.Is(err, ErrIncomplete) {
				t.Fatalf("err = %v", err)
			}
			s := w.saved(ct)
			if p := s.Pending["bad"]; !s.End.Equal(w.now) || p.Attempts != 31 || !p.FirstFailure.Equal(w.now.Add(-25*time.Hour)) {
				t.Errorf("saved end %s, pending %+v", s.End, s.Pending)
			}
		}},
		{"a blob pending from an earlier run is fetched though not listed", func(t *testing.T, w *world) {
			b := w.api.add(ct, "earlier", w.now.Add(-30*time.Hour), 2)
			seed(t, w, func(s *state.State) {
				s.Types[ct] = &state.Type{End: w.now.Add(-time.Hour), Pending: map[string]state.Pending{"earlier": {
					ContentURI: "https://api.example/blob/earlier", ContentCreated: b.created.Format(apiTime),
					ContentExpiration: b.created.Add(window.Retention).Format(apiTime), Attempts: 1, FirstFailure: w.now.Add(-time.Hour)}}}
			})
			res, err := w.run(nil, ct)
			if err != nil {
				t.Fatal(err)
			}
			if got := w.ids(ct); !same(got, b.records) || res.Types[0].Fetched != 1 {
				t.Errorf("written %v, fetched %d", got, res.Types[0].Fetched)
			}
			if s := w.saved(ct); len(s.Pending) != 0 || !s.End.Equal(w.now) {
				t.Errorf("saved %+v", s)
			}
		}},
		{"a pending blob that expired is reported lost and dropped", func(t *testing.T, w *world) {
			created := w.now.Add(-8 * 24 * time.Hour)
			seed(t, w, func(s *state.State) {
				s.Types[ct] = &state.Type{End: w.now.Add(-time.Hour), Pending: map[string]state.Pending{"gone": {
					ContentURI: "https://api.example/blob/gone", ContentCreated: created.Format(apiTime),
					ContentExpiration: created.Add(window.Retention).Format(apiTime), Attempts: 5}}}
			})
			res, err := w.run(nil, ct)
			if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "expired before it could be fetched") {
				t.Fatalf("err = %v", err)
			}
			if !slices.Equal(res.Types[0].Expired, []string{"gone"}) || w.api.downloads["gone"] != 0 {
				t.Errorf("expired %v, downloads %d", res.Types[0].Expired, w.api.downloads["gone"])
			}
			if s := w.saved(ct); len(s.Pending) != 0 || !s.End.Equal(w.now) {
				t.Errorf("saved %+v", s)
			}
		}},
		{"a blob the API no longer knows is lost, not retried", func(t *testing.T, w *world) {
			w.api.add(ct, "unknown", w.now.Add(-time.Hour), 1)
			w.api.failBlob["unknown"] = &activity.APIError{Op: "download", Status: 400, Code: activity.CodeContentUnknown}
			res, err := w.run(nil, ct)
			if !errors.Is(err, ErrIncomplete) || !slices.Equal(res.Types[0].Expired, []string{"unknown"}) {
				t.Fatalf("err = %v, expired %v", err, res.Types[0].Expired)
			}
			if s := w.saved(ct); len(s.Pending) != 0 || !s.End.Equal(w.now) {
				t.Errorf("saved %+v", s)
			}
		}},
		{"overlap and backfill never write a blob twice", func(t *testing.T, w *world) {
			a := w.api.add(ct, "a", w.now.Add(-20*time.Minute), 2)
			if _, err := w.run(nil, ct); err != nil {
				t.Fatal(err)
			}
			b := w.api.add(ct, "b", w.now.Add(5*time.Minute), 1)
			w.now = w.now.Add(10 * time.Minute)
			res, err := w.run(nil, ct) // the overlap lists a again
			if err != nil {
				t.Fatal(err)
			}
			if tr := res.Types[0]; tr.Listed != 2 || tr.Known != 1 || tr.Fetched != 1 {
				t.Errorf("listed %d, known %d, fetched %d", tr.Listed, tr.Known, tr.Fetched)
			}
			saved := w.saved(ct).End
			res, err = w.run(func(o *Options) { o.Start, o.End = w.now.Add(-2*time.Hour), w.now }, ct)
			if err != nil {
				t.Fatal(err)
			}
			if tr := res.Types[0]; !res.Backfill || tr.Known != 2 || tr.Fetched != 0 || !tr.End.IsZero() {
				t.Errorf("backfill result %+v", tr)
			}
			if got := w.saved(ct).End; !got.Equal(saved) {
				t.Errorf("backfill moved the saved end from %s to %s", saved, got)
			}
			if got, want := w.ids(ct), records(a, b); !same(got, want) {
				t.Errorf("written %v, want %v", got, want)
			}
		}},
		{"a backfill records what it wrote for later runs", func(t *testing.T, w *world) {
			a := w.api.add(ct, "a", w.now.Add(-50*time.Minute), 1)
			if _, err := w.run(func(o *Options) { o.Start = w.now.Add(-time.Hour) }, ct); err != nil {
				t.Fatal(err)
			}
			if s := w.saved(ct); !s.End.IsZero() {
				t.Errorf("a backfill saved end %s", s.End)
			}
			res, err := w.run(nil, ct) // the lookback covers a again
			if err != nil {
				t.Fatal(err)
			}
			if res.Types[0].Known != 1 || !same(w.ids(ct), a.records) {
				t.Errorf("known %d, written %v", res.Types[0].Known, w.ids(ct))
			}
		}},
		{"a record delivered again in another blob is dropped", func(t *testing.T, w *world) {
			a := w.api.add(ct, "a", w.now.Add(-2*time.Hour), 2)
			b := w.api.add(ct, "b", w.now.Add(-time.Hour), 1)
			w.api.mu.Lock()
			w.api.blobs[ct][1].records = append(w.api.blobs[ct][1].records, a.records[0])
			w.api.mu.Unlock()
			res, err := w.run(nil, ct)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := w.ids(ct), records(a, b); !same(got, want) || res.Types[0].Duplicates != 1 {
				t.Errorf("written %v, want %v; duplicates %d", got, want, res.Types[0].Duplicates)
			}
		}},
		{"a refused window is listed in halves", func(t *testing.T, w *world) {
			w.api.maxWindow = 2 * time.Hour
			var blobs []fakeBlob
			for i := range 6 {
				blobs = append(blobs, w.api.add(ct, fmt.Sprintf("b%d", i), w.now.Add(-time.Duration(6-i)*time.Hour+time.Minute), 1))
			}
			res, err := w.run(nil, ct)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := w.ids(ct), records(blobs...); !same(got, want) {
				t.Errorf("written %v, want %v", got, want)
			}
			// 6.5 h refused → 3h15 refused → 1h37m30s listed (4 of them).
			if len(w.api.listed) != 4 || res.Types[0].Windows != 1 {
				t.Errorf("listed %v in %d windows", w.api.listed, res.Types[0].Windows)
			}
			if !w.saved(ct).End.Equal(w.now) || !strings.Contains(w.log.String(), "listing its halves") {
				t.Errorf("saved end %s; log:\n%s", w.saved(ct).End, w.log.String())
			}
		}},
		{"a window refused down to the smallest span blames the clock and holds the end", func(t *testing.T, w *world) {
			w.api.maxWindow = time.Minute
			w.api.add(ct, "a", w.now.Add(-time.Hour), 1)
			seed(t, w, func(s *state.State) { s.Types[ct] = &state.Type{End: w.now.Add(-2 * time.Hour)} })
			_, err := w.run(nil, ct)
			if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "check the machine's clock") {
				t.Fatalf("err = %v", err)
			}
			if s := w.saved(ct); !s.End.Equal(w.now.Add(-2 * time.Hour)) {
				t.Errorf("saved end %s moved", s.End)
			}
		}},
		{"a window that cannot be listed ends the type's progress at its start", func(t *testing.T, w *world) {
			from := w.now.Add(-30 * time.Hour)
			seed(t, w, func(s *state.State) { s.Types[ct] = &state.Type{End: from} })
			a := w.api.add(ct, "a", from.Add(time.Hour), 1)
			w.api.add(ct, "b", w.now.Add(-time.Hour), 1)
			windows := window.Split(from.Add(-30*time.Minute), w.now)
			w.api.failList = func(lw window.Window) error {
				if lw.Start.Equal(windows[1].Start) {
					return &activity.APIError{Op: "list", Status: 500, Code: "AF50000"}
				}
				return nil
			}
			res, err := w.run(nil, ct)
			if !errors.Is(err, ErrIncomplete) || res.Types[0].Windows != 2 {
				t.Fatalf("err = %v, windows %d", err, res.Types[0].Windows)
			}
			if s := w.saved(ct); !s.End.Equal(windows[1].Start) || !same(w.ids(ct), a.records) {
				t.Errorf("saved end %s, want %s; written %v", s.End, windows[1].Start, w.ids(ct))
			}
		}},
		{"a refused credential stops the run", func(t *testing.T, w *world) {
			w.api.add(ct, "a", w.now.Add(-time.Hour), 1)
			w.api.failBlob["a"] = &activity.APIError{Op: "download a", Status: 401, Message: "token expired"}
			_, err := w.run(nil, ct)
			if !activity.Fatal(err) {
				t.Fatalf("err = %v, want the API's refusal", err)
			}
			if s := w.saved(ct); !s.End.Equal(w.now.Add(-6*time.Hour)) && !s.End.IsZero() {
				t.Errorf("saved end %s after a refusal", s.End)
			}
		}},
		{"types without a subscription are started or reported", func(t *testing.T, w *world) {
			w.api.subs = map[string]string{"Audit.Exchange": "disabled"}
			w.api.add("Audit.Exchange", "x", w.now.Add(-time.Hour), 1)
			res, err := w.run(nil, "Audit.Exchange", ct)
			if !errors.Is(err, ErrIncomplete) || len(res.Types[1].Problems) != 1 || !strings.Contains(res.Types[1].Problems[0], "no subscription") {
				t.Fatalf("err = %v, problems %q", err, res.Types[1].Problems)
			}
			if res.Types[0].Fetched != 0 || len(w.api.started) != 0 {
				t.Errorf("a disabled subscription was used or started: %+v, %v", res.Types[0], w.api.started)
			}
			res, err = w.run(func(o *Options) { o.AutoStart = true }, "Audit.Exchange", ct)
			if err != nil || res.Types[0].Fetched != 1 || len(w.api.started) != 2 {
				t.Errorf("err = %v, fetched %d, started %v", err, res.Types[0].Fetched, w.api.started)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, ct)
			tt.test(t, w)
		})
	}
}

// seed saves a state as an earlier run would have.
func seed(t *testing.T, w *world, fn func(*state.State)) {
	t.Helper()
	if err := w.open().Update(w.now, fn); err != nil {
		t.Fatal(err)
	}
}

// Every save of the state comes after what it claims is durable: the output file holds the
// size recorded, and the blob ledger knows every blob written within it.
func TestCommitOrder(t *testing.T) {
	w := newWorld(t, ct)
	for i := range 40 {
		w.api.add(ct, fmt.Sprintf("b%02d", i), w.now.Add(-time.Duration(40-i)*5*time.Minute), 3)
	}
	w.api.failBlob["b07"] = errUnavailable
	store := &orderStore{Store: w.open(), w: w}
	if _, err := Run(context.Background(), w.options(store, ct)); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("err = %v", err)
	}
	if store.saves < 2 || len(store.broken) > 0 {
		t.Errorf("%d saves; broken:\n%s", store.saves, strings.Join(store.broken, "\n"))
	}
	if n := len(w.ids(ct)); n != 39*3 {
		t.Errorf("%d records written, want %d", n, 39*3)
	}
}

// A run that died after appending a blob and before saving left lines past the saved size:
// the next run fetches that blob again (it is still pending or listed) and writes none of its
// records twice.
func TestRecoveryWritesNothingTwice(t *testing.T) {
	tests := []struct {
		name   string
		rotate bool // logrotate moved the file aside after the last save
	}{
		{name: "tail past the saved size"},
		{name: "file rotated since the save", rotate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, ct)
			a, b := interruptedRun(t, w, ct)
			path := filepath.Join(w.out, ct+".log")
			if tt.rotate {
				if err := os.Rename(path, path+".1"); err != nil {
					t.Fatal(err)
				}
			}
			w.now = w.now.Add(10 * time.Minute)
			res, err := w.run(nil, ct)
			if err != nil {
				t.Fatal(err)
			}
			written := w.ids(ct)
			if tt.rotate {
				written = append(readIDs(t, path+".1", ct), written...)
			}
			if want := records(a, b); !same(written, want) {
				t.Errorf("written %v, want %v", written, want)
			}
			if res.Types[0].Duplicates != 3 || !strings.Contains(w.log.String(), "will not be written again") {
				t.Errorf("duplicates %d; log:\n%s", res.Types[0].Duplicates, w.log.String())
			}
		})
	}
}

// interruptedRun runs once, writing blob a to <contentType>.log, then plays a run that died
// after appending blob b's lines: neither the state nor the indexes were told.
func interruptedRun(t *testing.T, w *world, contentType string) (a, b fakeBlob) {
	t.Helper()
	a = w.api.add(contentType, "a", w.now.Add(-2*time.Hour), 2)
	if _, err := w.run(nil, contentType); err != nil {
		t.Fatal(err)
	}
	b = w.api.add(contentType, "b", w.now.Add(time.Minute), 3)
	var tail strings.Builder
	for _, id := range b.records {
		fmt.Fprintf(&tail, `{"Id":%q,"Operation":"Test","contentId":"b","contentType":%q}`+"\n", id, contentType)
	}
	appendFile(t, filepath.Join(w.out, contentType+".log"), tail.String())
	return a, b
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// readIDs reads the record Ids of a content type's records in the file at path.
func readIDs(t *testing.T, path, contentType string) []string {
	t.Helper()
	moved := filepath.Join(t.TempDir(), contentType+".log")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(moved, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return (&world{t: t, out: filepath.Dir(moved)}).ids(contentType)
}

// A full disk stops the run at the first fault: no blob after it is tried, what was written
// is kept, and the error says which file and directory.
func TestStorageFaultStopsTheRun(t *testing.T) {
	w := newWorld(t, ct)
	for i := range 30 {
		w.api.add(ct, fmt.Sprintf("b%02d", i), w.now.Add(-time.Duration(30-i)*10*time.Minute), 2)
	}
	t.Cleanup(func() { localfs.Inject(nil) })
	var appends int
	localfs.Inject(func(path string) error {
		if strings.HasSuffix(path, ".log") {
			if appends++; appends > 3 {
				return syscall.ENOSPC
			}
		}
		return nil
	})
	res, err := w.run(func(o *Options) { o.Workers = 1 }, ct)
	var fault *localfs.FaultError
	if !errors.As(err, &fault) || !strings.Contains(fault.What, "output file "+ct+".log") {
		t.Fatalf("err = %v, want a storage fault naming the output file", err)
	}
	localfs.Inject(nil)
	if tr := res.Types[0]; tr.Fetched < 1 || tr.Fetched > 3 || len(w.api.downloads) > tr.Fetched+2 {
		t.Errorf("fetched %d, downloaded %d blobs after the fault", tr.Fetched, len(w.api.downloads))
	}
	if got := len(w.ids(ct)); got != 2*res.Types[0].Fetched {
		t.Errorf("%d records kept, want %d", got, 2*res.Types[0].Fetched)
	}
	// The next run, with room again, writes the rest and nothing twice.
	if _, err := w.run(nil, ct); err != nil {
		t.Fatal(err)
	}
	if got := w.ids(ct); len(got) != 60 || len(slices.Compact(slices.Clone(got))) != 60 {
		t.Errorf("%d records after the second run, want 60 distinct", len(got))
	}
}

// same reports whether two lists hold the same record Ids, in any order: blobs are written by
// several workers at once.
func same(got, want []string) bool {
	a, b := slices.Clone(got), slices.Clone(want)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// A commit that reads the output's size while another worker has appended its blob but not yet
// recorded it must not save that size: a crash after the save would leave the blob out of the
// ledger and its lines before the saved size, so the next run would write them again.
func TestCommitWaitsForAppendedBlobs(t *testing.T) {
	w := newWorld(t, ct)
	a := w.api.add(ct, "a", w.now.Add(-2*time.Hour), 2)
	b := w.api.add(ct, "b", w.now.Add(-time.Hour), 2)
	store := &orderStore{Store: w.open(), w: w}
	var once sync.Once
	committed := make(chan error, 1)
	t.Cleanup(func() { testHookAppended = nil })
	testHookAppended = func(r *typeRun, c activity.Content) {
		if c.ContentID != "a" {
			return
		}
		once.Do(func() {
			// Another worker's commit, between a's append and its records. It cannot finish
			// before this worker goes on; without the lock it does, saving a's lines unrecorded.
			go func() { committed <- r.commit(time.Time{}) }()
			select {
			case err := <-committed:
				committed <- err
			case <-time.After(500 * time.Millisecond):
			}
		})
	}
	if _, err := Run(context.Background(), w.options(store, ct)); err != nil {
		t.Fatal(err)
	}
	if err := <-committed; err != nil {
		t.Fatalf("the commit between append and records: %v", err)
	}
	if store.saves < 3 || len(store.broken) > 0 {
		t.Errorf("%d saves; broken:\n%s", store.saves, strings.Join(store.broken, "\n"))
	}
	if got, want := w.ids(ct), records(a, b); !same(got, want) {
		t.Errorf("written %v, want %v", got, want)
	}
}

// Earlier versions named the output file, and its entry in the state, after the canonical
// type; now the file follows the configured spelling. A run of the earlier version that died
// after appending a blob left its lines past the saved size of the canonical entry: the first
// run under the new name recovers them from there, writes none of them twice, and drops the
// stale entry.
func TestRecoveryAfterTheOutputIsRenamed(t *testing.T) {
	const canonical, spelled = "Audit.SharePoint", "Audit.Sharepoint"
	tests := []struct {
		name string
		move bool // the user moved the old file to the new name (or the file system ignores case)
	}{
		{name: "file renamed", move: true},
		{name: "new file beside the old one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, canonical)
			a, b := interruptedRun(t, w, canonical) // of the earlier version
			old := filepath.Join(w.out, canonical+".log")
			path := filepath.Join(w.out, spelled+".log")
			if tt.move {
				if err := os.Rename(old, path); err != nil {
					t.Fatal(err)
				}
			}
			w.now = w.now.Add(10 * time.Minute)
			res, err := w.run(func(o *Options) { o.FileNames = map[string]string{canonical: spelled} }, canonical)
			if err != nil {
				t.Fatal(err)
			}
			written := readIDs(t, path, canonical)
			if !tt.move {
				written = append(readIDs(t, old, canonical), written...)
			}
			if want := records(a, b); !same(written, want) {
				t.Errorf("written %v, want %v", written, want)
			}
			if d := res.Types[0].Duplicates; d != 3 {
				t.Errorf("duplicates %d, want 3", d)
			}
			files := w.open().Snapshot().Files
			if _, stale := files[canonical+".log"]; stale || len(files) != 1 {
				t.Errorf("state files %v, want only %s.log", files, spelled)
			}
			if fi, err := os.Stat(path); err != nil || files[spelled+".log"].Size != fi.Size() {
				t.Errorf("state files %v, file: %v %v", files, fi, err)
			}
		})
	}
}

// A bad listing entry is reported and the listing goes on: the rest of its page and the
// windows after it are fetched. What becomes of the entry depends on what is wrong with it.
func TestBadListingEntryDoesNotStallTheType(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*activity.Content)
		want    string // in the error
		written bool   // the bad entry's blob is written all the same
		pinned  bool   // it stays pending and holds the saved end back
	}{
		{name: "without contentUri", edit: func(c *activity.Content) { c.ContentURI = "" },
			want: "without contentUri", pinned: true},
		{name: "unreadable contentCreated", edit: func(c *activity.Content) { c.ContentCreated = "26/11/2026 08:00" },
			want: `contentCreated "26/11/2026 08:00"`, written: true},
		{name: "another content type", edit: func(c *activity.Content) { c.ContentType = "Audit.Exchange" },
			want: `contentType "Audit.Exchange"`},
		{name: "without contentId", edit: func(c *activity.Content) { c.ContentID = "" },
			want: "without contentId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, ct)
			from := w.now.Add(-30 * time.Hour) // two windows
			seed(t, w, func(s *state.State) { s.Types[ct] = &state.Type{End: from} })
			a := w.api.add(ct, "a", from.Add(time.Hour), 1)
			bad := w.api.add(ct, "bad", from.Add(2*time.Hour+500*time.Millisecond), 2)
			c := w.api.add(ct, "c", from.Add(3*time.Hour), 1)
			d := w.api.add(ct, "d", w.now.Add(-time.Hour), 1) // in the second window
			w.api.edit = map[string]func(*activity.Content){"bad": tt.edit}
			res, err := w.run(nil, ct)
			if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want incomplete naming %q", err, tt.want)
			}
			if tt.name != "without contentId" && !strings.Contains(err.Error(), "bad") {
				t.Errorf("err = %v does not name the entry", err)
			}
			if !strings.Contains(w.log.String(), "bad listing entry") {
				t.Errorf("no warning; log:\n%s", w.log.String())
			}
			want := records(a, c, d)
			if tt.written {
				want = records(a, bad, c, d)
			}
			if got := w.ids(ct); !same(got, want) {
				t.Errorf("written %v, want %v", got, want)
			}
			s := w.saved(ct)
			wantEnd, wantPending := w.now, 0
			if tt.pinned {
				wantEnd, wantPending = bad.created.Truncate(time.Second), 1
			}
			if !s.End.Equal(wantEnd) || len(s.Pending) != wantPending || !res.Types[0].End.Equal(wantEnd) {
				t.Errorf("saved end %s, pending %v; want end %s and %d pending", s.End, s.Pending, wantEnd, wantPending)
			}
			if !tt.pinned {
				return
			}
			// A pending entry without contentUri is not downloaded while the listing still
			// lacks it; once a listing gives one, it is fetched and the end moves on.
			w.now = w.now.Add(10 * time.Minute)
			if _, err := w.run(nil, ct); !errors.Is(err, ErrIncomplete) || w.api.downloads["bad"] != 0 {
				t.Fatalf("err = %v, downloads %d", err, w.api.downloads["bad"])
			}
			w.api.edit = nil
			w.now = w.now.Add(10 * time.Minute)
			if _, err := w.run(nil, ct); err != nil {
				t.Fatal(err)
			}
			if got, want := w.ids(ct), records(a, c, d, bad); !same(got, want) {
				t.Errorf("written %v, want %v", got, want)
			}
			if s := w.saved(ct); !s.End.Equal(w.now) || len(s.Pending) != 0 {
				t.Errorf("saved %+v", s)
			}
		})
	}
}

// A blob left pending without contentUri is not downloaded, and once it has been failing for
// the retention period without a readable expiration, it is reported lost and dropped.
func TestPendingWithoutURIExpires(t *testing.T) {
	w := newWorld(t, ct)
	seed(t, w, func(s *state.State) {
		s.Types[ct] = &state.Type{End: w.now.Add(-time.Hour), Pending: map[string]state.Pending{
			"nouri": {ContentCreated: "garbage", Attempts: 3, FirstFailure: w.now.Add(-time.Hour)},
			"old":   {ContentCreated: "garbage", Attempts: 90, FirstFailure: w.now.Add(-window.Retention - time.Minute)},
		}}
	})
	res, err := w.run(nil, ct)
	if !errors.Is(err, ErrIncomplete) || len(w.api.downloads) != 0 {
		t.Fatalf("err = %v, downloads %v", err, w.api.downloads)
	}
	if !slices.Equal(res.Types[0].Expired, []string{"old"}) || !slices.Equal(res.Types[0].Failed, []string{"nouri"}) {
		t.Errorf("expired %v, failed %v", res.Types[0].Expired, res.Types[0].Failed)
	}
	if p := w.saved(ct).Pending; len(p) != 1 || p["nouri"].Attempts != 4 {
		t.Errorf("pending %+v", p)
	}
}

// A blob the ledger knows but the state still holds pending (a run stopped between saving the
// one and the other) is not fetched again, and it leaves the pending list: kept there, it would
// be reported lost when it expires although its records are written.
func TestPendingBlobInTheLedgerIsDone(t *testing.T) {
	w := newWorld(t, ct)
	b := w.api.add(ct, "b", w.now.Add(-2*time.Hour), 3)
	if _, err := w.run(nil, ct); err != nil {
		t.Fatal(err)
	}
	seed(t, w, func(s *state.State) {
		s.Types[ct].Pending = map[string]state.Pending{"b": {ContentURI: b.content(ct).ContentURI,
			ContentCreated: b.content(ct).ContentCreated, Attempts: 1, FirstFailure: w.now.Add(-time.Hour)}}
	})
	w.now = w.now.Add(time.Hour)
	res, err := w.run(nil, ct)
	if err != nil || w.api.downloads["b"] != 1 {
		t.Fatalf("err = %v, downloads %v", err, w.api.downloads)
	}
	if p := w.saved(ct).Pending; len(p) != 0 {
		t.Errorf("still pending: %+v", p)
	}
	if got := w.ids(ct); len(got) != 3 || len(res.Types[0].Expired) != 0 {
		t.Errorf("lines %v, expired %v", got, res.Types[0].Expired)
	}
}
