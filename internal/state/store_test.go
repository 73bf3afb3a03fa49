package state

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/layout"
)

var update = flag.Bool("update", false, "rewrite golden files")

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

var now = ts("2026-11-26T09:00:00Z")

// fill puts one of everything into st.
func fill(st *State) {
	ex := st.Type("Audit.Exchange")
	ex.End = ts("2026-11-26T09:00:00Z")
	ex.Known = map[string]time.Time{
		"20261126080000123$abc$audit_exchange$Audit_Exchange$emea0013": ts("2026-12-03T08:00:00Z"),
	}
	ex.Pending = map[string]Pending{
		"20261126081500456$def$audit_exchange$Audit_Exchange$emea0013": {
			ContentURI:        "https://manage.office.com/api/v1.0/41463f53-8812-40f4-890f-865bf6e35190/activity/feed/audit/20261126081500456$def$audit_exchange$Audit_Exchange$emea0013",
			ContentCreated:    "2026-11-26T08:15:00.456Z",
			ContentExpiration: "2026-12-03T08:15:00.456Z",
			Error:             "GET blob: 503 Service Unavailable",
			Attempts:          3,
			FirstFailure:      ts("2026-11-26T08:20:00Z"),
		},
	}
	st.Type("DLP.All").End = ts("2026-11-26T08:00:00Z")
	st.Files = map[string]File{"Audit.Exchange.log": {Size: 123456}, "DLP.All.log": {Size: 0}}
}

func TestRoundTripAndGolden(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.Update(now, fill); err != nil {
		t.Fatal(err)
	}

	got, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "state.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("state file differs from %s (run with -update if the change is intended):\n%s", golden, got)
	}

	again := open(t, dir)
	if end, ok := again.Legacy(); ok {
		t.Errorf("Legacy() = %v, true; want false with a state file", end)
	}
	if a, b := s.Snapshot(), again.Snapshot(); !reflect.DeepEqual(a, b) {
		t.Errorf("reopened state differs:\n got %+v\nwant %+v", b, a)
	}
	if got := again.Type("Audit.Exchange"); got.Pending["20261126081500456$def$audit_exchange$Audit_Exchange$emea0013"].Attempts != 3 {
		t.Errorf("pending entry lost: %+v", got.Pending)
	}
}

func TestGoldenFileLoads(t *testing.T) {
	// A file written by an earlier build of this version must keep loading.
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "state.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, layout.StateFile), string(data))
	s := open(t, dir)
	want := newState()
	fill(want)
	if got := s.Snapshot(); !reflect.DeepEqual(got, want) {
		t.Errorf("loaded %+v, want %+v", got, want)
	}
}

func TestSaveLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	for i := range 5 {
		if err := s.Update(now, func(st *State) {
			st.Type("Audit.General").End = now.Add(time.Duration(i) * time.Hour)
		}); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != layout.StateFile {
		t.Errorf("directory holds %v, want only %s", entries, layout.StateFile)
	}
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && filepath.Separator == '/' {
		t.Errorf("state file mode %o, want no group/other access", perm)
	}
}

func TestFailedSaveRollsBack(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.Update(now, func(st *State) { st.Type("Audit.Exchange").End = ts("2026-11-26T08:00:00Z") }); err != nil {
		t.Fatal(err)
	}
	// A directory in place of the state file makes the rename fail, even
	// for root.
	if err := os.Remove(s.Path()); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(s.Path(), "blocker"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := s.Update(now, func(st *State) {
		st.Type("Audit.Exchange").End = ts("2026-11-26T09:00:00Z")
		st.Type("Audit.General").End = ts("2026-11-26T09:00:00Z")
	})
	if err == nil {
		t.Fatal("Update succeeded, want a save error")
	}
	if !strings.Contains(err.Error(), "save state") {
		t.Errorf("error %q does not say what failed", err)
	}
	if got := s.Type("Audit.Exchange").End; !got.Equal(ts("2026-11-26T08:00:00Z")) {
		t.Errorf("End after failed Update = %v, want the saved 08:00", got)
	}
	if _, ok := s.Snapshot().Types["Audit.General"]; ok {
		t.Error("type added by the failed Update is still there")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file %s left behind", e.Name())
		}
	}
}

func TestOpenCorrupt(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{name: "empty file", content: "", want: "empty file"},
		{name: "white space only", content: " \n", want: "empty file"},
		{name: "truncated", content: `{"version": 1, "types": {"Audit.Exchange": {"end": "2026-11-26T09:00:00Z"`, want: "truncated"},
		{name: "not JSON", content: "end=2026-11-26\n", want: "invalid character"},
		{name: "JSON null", content: "null", want: "no version"},
		{name: "no version", content: `{"types": {}}`, want: "no version"},
		{name: "version zero", content: `{"version": 0, "types": {}}`, want: "version 0"},
		{name: "version not a number", content: `{"version": "1", "types": {}}`, want: "cannot unmarshal"},
		{name: "no types", content: `{"version": 1}`, want: "no types"},
		{name: "null type", content: `{"version": 1, "types": {"Audit.Exchange": null}}`, want: `"Audit.Exchange": null entry`},
		{name: "bad time", content: `{"version": 1, "types": {"Audit.Exchange": {"end": "yesterday"}}}`, want: "yesterday"},
		{name: "trailing garbage", content: `{"version": 1, "types": {}} {}`, want: "invalid character"},
		{name: "NUL bytes from a crash", content: "\x00\x00\x00\x00", want: "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, layout.StateFile)
			writeFile(t, path, tt.content)
			writeFile(t, filepath.Join(dir, layout.LegacyStateFile), "1732600000\n") // must not be used
			_, err := Open(dir)
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Open error = %v (%T), want *CorruptError", err, err)
			}
			if ce.Path != path {
				t.Errorf("Path = %q, want %q", ce.Path, path)
			}
			msg := err.Error()
			for _, part := range []string{path, tt.want, "backup", "move it aside"} {
				if !strings.Contains(msg, part) {
					t.Errorf("error %q does not contain %q", msg, part)
				}
			}
			if data, _ := os.ReadFile(path); string(data) != tt.content {
				t.Error("Open changed the corrupt file")
			}
		})
	}
}

func TestOpenNewerVersion(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, layout.StateFile)
	// A newer format may not fit this build's types at all.
	writeFile(t, path, `{"version": 2, "types": ["something", "new"]}`)
	_, err := Open(dir)
	var ve *VersionError
	if !errors.As(err, &ve) {
		t.Fatalf("Open error = %v (%T), want *VersionError", err, err)
	}
	if ve.Version != 2 || ve.Path != path {
		t.Errorf("VersionError = %+v", ve)
	}
	if !strings.Contains(err.Error(), "newer o365logfetch") {
		t.Errorf("error %q does not say a newer o365logfetch wrote it", err)
	}
}

func TestOpenLegacy(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    time.Time
	}{
		{name: "with newline", content: "1732600000\n", want: time.Unix(1732600000, 0)},
		{name: "with spaces", content: "  1732600000  ", want: time.Unix(1732600000, 0)},
		{name: "with CRLF", content: "1732600000\r\n", want: time.Unix(1732600000, 0)},
		{name: "with a fraction", content: "1732600000.75\n", want: time.Unix(1732600000, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, layout.LegacyStateFile), tt.content)
			s := open(t, dir)
			end, ok := s.Legacy()
			if !ok || !end.Equal(tt.want) || end.Location() != time.UTC {
				t.Fatalf("Legacy() = %v, %v; want %v UTC, true", end, ok, tt.want)
			}
			for _, ct := range []string{"Audit.Exchange", "Audit.General"} {
				if got := s.Type(ct).End; !got.Equal(tt.want) {
					t.Errorf("Type(%s).End = %v, want %v", ct, got, tt.want)
				}
			}

			// Saving one type must not make the others forget time.log.
			if err := s.Update(now, func(st *State) { st.Type("Audit.Exchange").End = now }); err != nil {
				t.Fatal(err)
			}
			again := open(t, dir)
			if _, ok := again.Legacy(); ok {
				t.Error("Legacy() ok after a state file was written")
			}
			if got := again.Type("Audit.Exchange").End; !got.Equal(now) {
				t.Errorf("Audit.Exchange End = %v, want %v", got, now)
			}
			if got := again.Type("Audit.General").End; !got.Equal(tt.want) {
				t.Errorf("Audit.General End = %v, want the time.log value %v", got, tt.want)
			}
			if err := again.Update(now, func(st *State) { st.Type("DLP.All") }); err != nil {
				t.Fatal(err)
			}
			if got := again.Type("DLP.All").End; !got.Equal(tt.want) {
				t.Errorf("DLP.All End created in Update = %v, want the time.log value %v", got, tt.want)
			}
		})
	}
}

func TestOpenLegacyGarbage(t *testing.T) {
	for _, content := range []string{"", "\n", "yesterday", "-5", "+1732600000", "1e9", "1732600000 1732600001", "1732600000.x", ".5", "99999999999999999999", "２０２６"} {
		t.Run(fmt.Sprintf("%q", content), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, layout.LegacyStateFile)
			writeFile(t, path, content)
			_, err := Open(dir)
			if err == nil {
				t.Fatal("Open succeeded, want an error naming time.log")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "epoch seconds") {
				t.Errorf("error %q does not name %s and the expected content", err, path)
			}
		})
	}
}

func TestOpenNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "timekeeper")
	s := open(t, dir)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("directory not created: %v", err)
	}
	if perm := fi.Mode().Perm(); filepath.Separator == '/' && perm != 0o700 && perm != 0o700&^0o077 {
		t.Errorf("directory mode %o, want 0700", perm)
	}
	if _, ok := s.Legacy(); ok {
		t.Error("Legacy() ok without time.log")
	}
	if got := s.Type("Audit.Exchange"); !got.End.IsZero() || got.Known != nil || got.Pending != nil {
		t.Errorf("Type() = %+v, want zero", got)
	}
	if snap := s.Snapshot(); snap.Version != Version || len(snap.Types) != 0 {
		t.Errorf("Snapshot() = %+v, want empty version %d", snap, Version)
	}
	if _, err := os.Stat(s.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open wrote a state file: %v", err)
	}
}

func TestCopiesAreDeep(t *testing.T) {
	s := open(t, t.TempDir())
	if err := s.Update(now, fill); err != nil {
		t.Fatal(err)
	}
	typ := s.Type("Audit.Exchange")
	typ.Known["injected"] = now
	delete(typ.Pending, "20261126081500456$def$audit_exchange$Audit_Exchange$emea0013")
	snap := s.Snapshot()
	snap.Types["Audit.Exchange"].Known["injected2"] = now
	snap.Types["DLP.All"].End = time.Time{}
	snap.Files["DLP.All.log"] = File{Size: 99}

	again := s.Snapshot()
	ex := again.Types["Audit.Exchange"]
	if _, ok := ex.Known["injected"]; ok {
		t.Error("change to Type() copy reached the store")
	}
	if _, ok := ex.Known["injected2"]; ok {
		t.Error("change to Snapshot() copy reached the store")
	}
	if len(ex.Pending) != 1 || again.Types["DLP.All"].End.IsZero() || again.Files["DLP.All.log"].Size != 0 {
		t.Errorf("store changed through a copy: %+v", again)
	}
}

func TestPrune(t *testing.T) {
	tests := []struct {
		name       string
		expiration time.Time
		keep       bool
	}{
		{name: "expires later", expiration: now.Add(time.Hour), keep: true},
		{name: "expires now", expiration: now, keep: true},
		{name: "expired within the grace", expiration: now.Add(-PruneGrace + time.Second), keep: true},
		{name: "expired exactly at the grace", expiration: now.Add(-PruneGrace), keep: true},
		{name: "expired past the grace", expiration: now.Add(-PruneGrace - time.Second)},
		{name: "expired a week ago", expiration: now.Add(-7 * 24 * time.Hour)},
	}
	s := open(t, t.TempDir())
	if err := s.Update(now.Add(-30*24*time.Hour), func(st *State) {
		typ := st.Type("Audit.SharePoint")
		typ.Known = map[string]time.Time{}
		for _, tt := range tests {
			typ.Known[tt.name] = tt.expiration
		}
		typ.Pending = map[string]Pending{"expired pending": {ContentExpiration: "2026-11-01T00:00:00.000Z"}}
	}); err != nil {
		t.Fatal(err)
	}
	if got := len(s.Type("Audit.SharePoint").Known); got != len(tests) {
		t.Fatalf("ledger has %d entries before pruning, want %d", got, len(tests))
	}
	if err := s.Update(now, func(*State) {}); err != nil {
		t.Fatal(err)
	}
	again := open(t, filepath.Dir(s.Path()))
	typ := again.Type("Audit.SharePoint")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := typ.Known[tt.name]; ok != tt.keep {
				t.Errorf("kept = %v, want %v", ok, tt.keep)
			}
		})
	}
	if _, ok := typ.Pending["expired pending"]; !ok {
		t.Error("Prune dropped a pending entry; the caller must report it first")
	}
}

func TestConcurrentUpdates(t *testing.T) {
	const (
		workers = 8
		each    = 15
	)
	dir := t.TempDir()
	s := open(t, dir)
	types := []string{"Audit.Exchange", "Audit.SharePoint", "Audit.General", "DLP.All"}
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				err := s.Update(now, func(st *State) {
					typ := st.Type(types[g%len(types)])
					if typ.Known == nil {
						typ.Known = map[string]time.Time{}
					}
					typ.Known[fmt.Sprintf("blob-%d-%d", g, i)] = now.Add(7 * 24 * time.Hour)
					if end := now.Add(time.Duration(i) * time.Minute); end.After(typ.End) {
						typ.End = end
					}
				})
				if err != nil {
					errs <- err
				}
				_ = s.Type(types[i%len(types)])
				_ = s.Snapshot()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	again := open(t, dir)
	total := 0
	for _, ct := range types {
		typ := again.Type(ct)
		total += len(typ.Known)
		if want := now.Add((each - 1) * time.Minute); !typ.End.Equal(want) {
			t.Errorf("%s End = %v, want %v", ct, typ.End, want)
		}
	}
	if total != workers*each {
		t.Errorf("ledger has %d entries, want %d: an update was lost", total, workers*each)
	}
}

func FuzzOpen(f *testing.F) {
	if golden, err := os.ReadFile(filepath.Join("testdata", "state.golden.json")); err == nil {
		f.Add(golden)
	}
	for _, s := range []string{
		"", "null", "{}", `{"version":1,"types":{}}`, `{"version":2}`, `{"version":1,"types":{"a":null}}`,
		`{"version":1,"types":{"a":{"end":"2026-11-26T09:00:00Z","known":{"x":"2026-12-03T08:00:00Z"}}}}`,
		`{"version":1,"legacyEnd":"2024-11-26T05:46:40Z","types":{},"files":{"a.log":{"size":-1}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, layout.StateFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir)
		if err != nil {
			var ce *CorruptError
			var ve *VersionError
			if !errors.As(err, &ce) && !errors.As(err, &ve) {
				t.Fatalf("Open error %v (%T), want *CorruptError or *VersionError", err, err)
			}
			return
		}
		// Whatever loaded must be usable and survive a save.
		snap := s.Snapshot()
		for name := range snap.Types {
			_ = s.Type(name)
		}
		if err := s.Update(now, func(st *State) { st.Type("Audit.Exchange").End = now }); err != nil {
			t.Fatalf("Update after loading: %v", err)
		}
		if _, err := Open(dir); err != nil {
			t.Fatalf("reopen after save: %v", err)
		}
	})
}

func TestLegacyStartMakesUpForTheOldToolsLocalTimes(t *testing.T) {
	end := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		zone *time.Location
		want time.Time
	}{
		{"UTC", time.UTC, end},
		{"east of UTC skipped nothing", time.FixedZone("CET", 3600), end},
		{"west of UTC lagged by the offset", time.FixedZone("EST", -5*3600), end.Add(-5 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := legacyStart(end, tt.zone); !got.Equal(tt.want) {
				t.Errorf("legacyStart = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestMain pins the local zone: what the old tool's time.log means depends on it (see
// legacyStart), and the tests must not depend on the machine's.
func TestMain(m *testing.M) {
	time.Local = time.UTC
	os.Exit(m.Run())
}
