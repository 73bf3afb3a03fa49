package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
	"github.com/o365logfetch/o365logfetch/internal/state"
)

// Each bad input gives exit 2, a message naming what is wrong, and leaves the output alone.
func TestBadInputExitsTwoAndTouchesNothing(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(h *harness) []string // changes the setup, returns the arguments
		want   string                    // in stderr
	}{
		{"missing config file", func(h *harness) []string {
			return []string{"--config", filepath.Join(h.dir, "nope.cfg")}
		}, "nope.cfg"},
		{"missing tenantId", func(h *harness) []string {
			replaceInFile(h.t, h.cfg, "tenantId = ", "tenantIdx = ")
			return nil
		}, "tenantId"},
		{"missing key file", func(h *harness) []string {
			os.Remove(filepath.Join(h.dir, "app.pem"))
			return nil
		}, "app.pem"},
		{"unreadable key file", func(h *harness) []string {
			writeFile(h.t, filepath.Join(h.dir, "app.pem"), "this is not a PEM file\n")
			return nil
		}, "app.pem"},
		{"encrypted key", func(h *harness) []string {
			writeFile(h.t, filepath.Join(h.dir, "app.pem"), "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n")
			return nil
		}, "encrypted"},
		{"bad date", func(h *harness) []string { return []string{"--start", "yesterday"} }, "--start"},
		{"start after end", func(h *harness) []string {
			return []string{"--start", "2026-11-25T10:00:00Z", "--end", "2026-11-25T09:00:00Z"}
		}, "not before"},
		{"end without start", func(h *harness) []string { return []string{"--end", "2026-11-25"} }, "--end needs --start"},
		{"unknown content type", func(h *harness) []string {
			replaceInFile(h.t, h.cfg, "type0 = Audit.Exchange", "type0 = ../../etc/passwd")
			return nil
		}, "../../etc/passwd"},
		{"unknown flag", func(h *harness) []string { return []string{"--bogus"} }, "bogus"},
		{"unknown command", func(h *harness) []string { return []string{"frobnicate"} }, "frobnicate"},
		{"thumbprint does not match the certificate", func(h *harness) []string {
			replaceInFile(h.t, h.cfg, "thumbprint = ", "thumbprint = 00"+strings.Repeat("A", 38)+"\n#")
			return nil
		}, strings.Repeat("A", 38)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
			h.srv.Generate("Audit.Exchange", h.clock.Now().Add(-time.Hour), h.clock.Now().Add(-time.Minute), 30*time.Minute, 1)
			args := tt.mutate(h)
			code, _, stderr := h.run(args...)
			if code != 2 {
				t.Fatalf("exit code %d, want 2\nstderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not name %q:\n%s", tt.want, stderr)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Errorf("stack trace on a user error:\n%s", stderr)
			}
			if _, err := os.Stat(h.out); !os.IsNotExist(err) {
				t.Errorf("output directory touched (%v)", err)
			}
			if got := h.srv.Stats().BlobDownloads; got != 0 {
				t.Errorf("%d blobs downloaded despite the bad input", got)
			}
		})
	}
}

func TestWrongKeyExitsThreeWithAADSTSCode(t *testing.T) {
	h := newHarness(t, setup{wrongKey: true, types: []string{"Audit.Exchange"}})
	code, _, stderr := h.run()
	if code != 3 {
		t.Fatalf("exit code %d, want 3\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "700027") {
		t.Errorf("stderr does not name AADSTS700027:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(h.out, "Audit.Exchange.log")); !os.IsNotExist(err) {
		t.Errorf("output file touched (%v)", err)
	}
}

func TestMissingPermissionExitsThree(t *testing.T) {
	h := newHarness(t, setup{emu: emulator.Config{Roles: []string{"Something.Else"}}, types: []string{"Audit.Exchange"}})
	code, _, stderr := h.run()
	if code != 3 {
		t.Fatalf("exit code %d, want 3\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "ActivityFeed.Read") {
		t.Errorf("stderr does not explain the missing permission:\n%s", stderr)
	}
}

func TestOldToolKeyOnlyCredentialWorks(t *testing.T) {
	h := newHarness(t, setup{keyOnly: true, types: []string{"Audit.AzureActiveDirectory"}})
	h.srv.Generate("Audit.AzureActiveDirectory", h.clock.Now().Add(-time.Hour), h.clock.Now().Add(-time.Minute), 15*time.Minute, 3)
	h.mustRun(0)
	h.exactlyOnce("Audit.AzureActiveDirectory")
}

func TestLockedRunExitsFour(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	if err := os.MkdirAll(h.state, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := lockFor(h.state)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	code, _, stderr := h.run()
	if code != 4 {
		t.Fatalf("exit code %d, want 4\n%s", code, stderr)
	}
}

func lockFor(dir string) (*state.RunLock, error) { return state.Lock(dir) }
