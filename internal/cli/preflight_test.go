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
	tests := []struct {
		name    string
		arrange func(t *testing.T, h *harness, outside string)
		want    string
	}{
		{"output file links outside its directory", func(t *testing.T, h *harness, outside string) {
			mkdir(t, h.out)
			symlink(t, outside, filepath.Join(h.out, ct+".log"))
		}, "outside"},
		{"debug log links outside its directory", func(t *testing.T, h *harness, outside string) {
			mkdir(t, h.debug)
			symlink(t, outside, filepath.Join(h.debug, "debug.log"))
		}, "debug.log is a symbolic link"},
		{"state file links outside its directory", func(t *testing.T, h *harness, outside string) {
			mkdir(t, h.state)
			symlink(t, outside, filepath.Join(h.state, "o365logfetch-state.json"))
		}, "timeKeeperLocation"},
		{"lock file is a dangling link", func(t *testing.T, h *harness, _ string) {
			mkdir(t, h.state)
			symlink(t, filepath.Join(h.dir, "nowhere"), filepath.Join(h.state, "o365logfetch.lock"))
		}, "leads nowhere"},
		{"record index links outside its directory", func(t *testing.T, h *harness, outside string) {
			mkdir(t, h.state)
			symlink(t, outside, filepath.Join(h.state, "o365logfetch-records.idx"))
		}, "o365logfetch-records.idx is a symbolic link"},
		{"blob ledger links outside its directory", func(t *testing.T, h *harness, outside string) {
			mkdir(t, h.state)
			symlink(t, outside, filepath.Join(h.state, "o365logfetch-blobs.idx"))
		}, "o365logfetch-blobs.idx is a symbolic link"},
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
