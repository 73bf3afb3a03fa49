package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
)

// normalizeCheck replaces what changes from run to run (paths, port, key material, times).
func normalizeCheck(h *harness, out string) string {
	app, _ := creds(h.t)
	r := strings.NewReplacer(h.dir, "$DIR", h.srv.URL, "$URL", app.Thumbprint, "$SHA1")
	out = r.Replace(out)
	for _, re := range []struct{ re, repl string }{
		{`SHA-256( +)[0-9A-F]{64}`, "SHA-256${1}$$SHA256"},
		{`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`, "$$TIME"},
		{`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in \d+ days\)`, "$$DATE (in N days)"},
		{`is -?[0-9hms.]+ \(limit`, "is $$SKEW (limit"},
		{`, [0-9hms]+ behind`, ", $$LAG behind"},
		{`, [0-9.]+ (B|[KMGTPE]iB) free`, ", $$FREE free"},
	} {
		out = regexp.MustCompile(re.re).ReplaceAllString(out, re.repl)
	}
	return out
}

func TestCheckAllGreen(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange", "Audit.SharePoint"}})
	now := h.clock.Now()
	h.srv.Generate("Audit.Exchange", now.Add(-3*time.Hour), now.Add(-time.Minute), 30*time.Minute, 2)
	// Before any run: nothing saved, directories still to be created.
	code, stdout, _ := h.runApp(nil, "check")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
	for _, want := range []string{"does not exist yet", "nothing saved yet", "All checks passed."} {
		if !strings.Contains(stdout, want) {
			t.Errorf("first check lacks %q:\n%s", want, stdout)
		}
	}
	for _, d := range []string{h.out, h.state, h.debug} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("check created %s", d)
		}
	}

	h.mustRun(0)
	code, stdout, stderr := h.runApp(nil, "check")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	golden(t, "check_green.golden", normalizeCheck(h, stdout))
	// The probe file is gone again.
	for _, d := range []string{h.out, h.state, h.debug} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".o365logfetch-check-") {
				t.Errorf("probe file left behind: %s", filepath.Join(d, e.Name()))
			}
		}
	}
}

func TestCheckFailures(t *testing.T) {
	_, other := creds(t)
	now := time.Now()
	expired, err := emulator.NewAppCredential(now.Add(-400*24*time.Hour), now.Add(-35*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		setup   setup
		prepare func(h *harness)
		code    int
		want    []string // in stdout
	}{
		{
			name: "wrong thumbprint",
			prepare: func(h *harness) {
				h.editConfig(func(s string) string { return strings.Replace(s, creds1(t), other.Thumbprint, 1) })
			},
			code: 2,
			want: []string{"✘ credential:", "configured thumbprint is " + other.Thumbprint, "fix: check privateKeyFile", "- token: skipped (no credential)"},
		},
		{
			name: "expired certificate",
			prepare: func(h *harness) {
				writeFile(t, filepath.Join(h.dir, "app.pem"), string(expired.KeyPEM)+string(expired.CertPEM))
				h.editConfig(func(s string) string { return strings.Replace(s, creds1(t), expired.Thumbprint, 1) })
			},
			code: 2,
			want: []string{"✘ credential:", "certificate " + expired.Thumbprint + " expired on"},
		},
		{
			name:  "missing role",
			setup: setup{emu: emulator.Config{Roles: []string{"ServiceHealth.Read"}}},
			code:  3,
			want:  []string{"✔ token:", "✘ permission: the token lacks ActivityFeed.Read (roles: ServiceHealth.Read)", "Grant admin consent"},
		},
		{
			name:  "disabled subscription",
			setup: setup{emu: emulator.Config{Subscriptions: map[string]string{"Audit.Exchange": "enabled", "Audit.General": "disabled"}}, types: []string{"Audit.Exchange", "Audit.General"}},
			code:  1,
			want:  []string{"✔ subscription Audit.Exchange: enabled", "✘ subscription Audit.General: disabled", "fix: o365logfetch subscriptions start Audit.General"},
		},
		{
			name: "output directory under a regular file",
			prepare: func(h *harness) {
				file := filepath.Join(h.dir, "plainfile")
				writeFile(t, file, "x")
				h.editConfig(func(s string) string {
					return strings.Replace(s, "baseLogLocation = "+h.out, "baseLogLocation = "+filepath.Join(file, "out"), 1)
				})
			},
			code: 2,
			want: []string{"✘ baseLogLocation:", "not a directory", "✔ timeKeeperLocation:"},
		},
		{
			name:    "config that does not load",
			prepare: func(h *harness) { h.editConfig(func(s string) string { return dropLine(s, "tenantId") }) },
			code:    2,
			want:    []string{"✘ config: cannot use", "tenantId: missing"},
		},
		{
			name: "more than seven days behind",
			prepare: func(h *harness) {
				writeFile(t, filepath.Join(h.state, "time.log"), fmt.Sprint(time.Now().Add(-8*24*time.Hour).Unix()))
			},
			setup: setup{types: []string{"Audit.Exchange"}},
			code:  1,
			want:  []string{"✘ progress Audit.Exchange: fetched up to", "gone for good"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.setup
			if s.types == nil {
				s.types = []string{"Audit.Exchange"}
			}
			h := newHarness(t, s)
			if err := os.MkdirAll(h.state, 0o700); err != nil {
				t.Fatal(err)
			}
			if tt.prepare != nil {
				tt.prepare(h)
			}
			code, stdout, stderr := h.runApp(nil, "check")
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q", w)
				}
			}
			if !strings.Contains(stderr, "check: ") || strings.Contains(stdout, "All checks passed") {
				t.Errorf("no failure summary on stderr: %q", stderr)
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
		})
	}
}

// creds1 is the registered credential's thumbprint, as the harness writes it.
func creds1(t *testing.T) string {
	app, _ := creds(t)
	return app.Thumbprint
}
