package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A written path that is a symbolic link to somewhere unexpected, or cannot be written, stops
// the run with exit 2 before anything is fetched, and the link's target is left untouched.
func TestPreflightRefusesUnsafePaths(t *testing.T) {
	const ct = "Audit.Exchange"
	type test struct {
		name    string
		arrange func(t *testing.T, h *harness, outside string)
		want    string
	}
	tests := []test{
		{"lock file is a dangling link", func(t *testing.T, h *harness, _ string) {
			mkdir(t, h.state)
			symlink(t, filepath.Join(h.dir, "nowhere"), filepath.Join(h.state, "o365logfetch.lock"))
		}, "leads nowhere"},
		{"output file is a directory", func(t *testing.T, h *harness, _ string) {
			mkdir(t, filepath.Join(h.out, ct+".log"))
		}, "not a regular file"},
		{"output location is a file", func(t *testing.T, h *harness, _ string) {
			writeFile(t, h.out, "")
		}, "not a directory"},
		{"output directory not writable", func(t *testing.T, h *harness, _ string) {
			if os.Geteuid() == 0 {
				t.Skip("root writes to any directory")
			}
			mkdir(t, h.out)
			if err := os.Chmod(h.out, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(h.out, 0o700) })
		}, "not writable"},
	}
	// Every file the tool writes, each in its own directory, as a link planted to elsewhere.
	for _, f := range []struct {
		what, name string
		dir        func(h *harness) string
	}{
		{"output file", ct + ".log", func(h *harness) string { return h.out }},
		{"debug log", "debug.log", func(h *harness) string { return h.debug }},
		{"state file", "o365logfetch-state.json", func(h *harness) string { return h.state }},
		{"record index", "o365logfetch-records.idx", func(h *harness) string { return h.state }},
		{"blob ledger", "o365logfetch-blobs.idx", func(h *harness) string { return h.state }},
	} {
		tests = append(tests, test{f.what + " links outside its directory", func(t *testing.T, h *harness, outside string) {
			mkdir(t, f.dir(h))
			symlink(t, outside, filepath.Join(f.dir(h), f.name))
		}, f.name + " is a symbolic link to "})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{types: []string{ct}})
			h.srv.Generate(ct, h.clock.Now().Add(-time.Hour), h.clock.Now().Add(-time.Minute), 20*time.Minute, 1)
			outside := filepath.Join(t.TempDir(), "precious")
			writeFile(t, outside, "do not touch\n")
			tt.arrange(t, h, outside)
			code, _, stderr := h.runWith(nil)
			if code != 2 {
				t.Fatalf("exit code %d, want 2\nstderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not name %q:\n%s", tt.want, stderr)
			}
			if data, _ := os.ReadFile(outside); string(data) != "do not touch\n" {
				t.Errorf("the link's target was written: %q", data)
			}
			if n := len(h.srv.Requests()); n != 0 {
				t.Errorf("%d requests sent before the check stopped the run", n)
			}
		})
	}
}

// Links the administrator set up on purpose still work: a directory that is a link, and a file
// linked within its own directory (log rotation schemes do that).
func TestPreflightAcceptsExpectedLinks(t *testing.T) {
	const ct = "Audit.Exchange"
	h := newHarness(t, setup{types: []string{ct}})
	h.srv.Generate(ct, h.clock.Now().Add(-time.Hour), h.clock.Now().Add(-time.Minute), 20*time.Minute, 1)
	real := filepath.Join(h.dir, "real-out")
	mkdir(t, real)
	symlink(t, real, h.out)
	writeFile(t, filepath.Join(real, "current.log"), "")
	symlink(t, "current.log", filepath.Join(real, ct+".log"))
	if code, _, stderr := h.runWith(nil); code != 0 {
		t.Fatalf("exit code %d, want 0\nstderr:\n%s", code, stderr)
	}
	data, err := os.ReadFile(filepath.Join(real, "current.log"))
	if err != nil || strings.Count(string(data), "\n") != 3 {
		t.Errorf("records not written through the link: %v, %d lines", err, strings.Count(string(data), "\n"))
	}
}

// A private key readable by others is worth a warning, not a refusal: the run goes on.
func TestPreflightWarnsOfReadableKey(t *testing.T) {
	tests := []struct {
		name string
		mode os.FileMode
		warn bool
	}{
		{"owner only", 0o600, false},
		{"group readable", 0o640, true},
		{"world readable", 0o644, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{types: []string{"Audit.General"}})
			if err := os.Chmod(filepath.Join(h.dir, "app.pem"), tt.mode); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := h.runWith(nil)
			if code != 0 {
				t.Fatalf("exit code %d, want 0\nstderr:\n%s", code, stderr)
			}
			if got := strings.Contains(stderr, "app.pem is readable by group or others"); got != tt.warn {
				t.Errorf("warning shown = %v, want %v\nstderr:\n%s", got, tt.warn, stderr)
			}
		})
	}
}
