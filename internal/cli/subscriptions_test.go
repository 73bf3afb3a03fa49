package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
)

func TestSubscriptionsList(t *testing.T) {
	h := newHarness(t, setup{
		emu:   emulator.Config{Subscriptions: map[string]string{"Audit.Exchange": "enabled", "Audit.General": "disabled"}},
		types: []string{"Audit.Exchange", "DLP.All"},
	})
	// Global flags after the command work too.
	stdout, _ := h.mustRun(0, "subscriptions", "list")
	golden(t, "subscriptions_list.golden", stdout)
	if _, err := os.Stat(filepath.Join(h.out, "Audit.Exchange.log")); !os.IsNotExist(err) {
		t.Errorf("subscriptions list touched an output file")
	}
}

func TestSubscriptionsStart(t *testing.T) {
	h := newHarness(t, setup{
		emu:   emulator.Config{Subscriptions: map[string]string{"Audit.Exchange": "enabled"}},
		types: []string{"Audit.Exchange", "Audit.SharePoint"},
	})
	stdout, _ := h.mustRun(0, "subscriptions", "start")
	if !strings.Contains(stdout, "Audit.Exchange: enabled") || !strings.Contains(stdout, "Audit.SharePoint: enabled") {
		t.Errorf("unexpected output:\n%s", stdout)
	}
	if !strings.Contains(stdout, "12 hours") {
		t.Errorf("no reminder of the 12-hour delay:\n%s", stdout)
	}
	if got := h.srv.Subscription("Audit.SharePoint"); got != "enabled" {
		t.Errorf("Audit.SharePoint = %q, want enabled", got)
	}
	// Named types, any casing; unknown names are refused.
	h.mustRun(0, "subscriptions", "start", "dlp.all")
	if got := h.srv.Subscription("DLP.All"); got != "enabled" {
		t.Errorf("DLP.All = %q, want enabled", got)
	}
	_, stderr := h.mustRun(2, "subscriptions", "start", "Audit.Nope")
	if !strings.Contains(stderr, "Audit.Nope") {
		t.Errorf("stderr does not name the bad type:\n%s", stderr)
	}
}

func TestSubscriptionsStop(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
		after  map[string]string // subscription states expected afterwards
	}{
		{name: "without --yes refused, nothing stopped", args: []string{"subscriptions", "stop", "Audit.General"}, code: 2,
			stderr: []string{"discards the content of the stopped period", "--yes"}, after: map[string]string{"Audit.General": "enabled"}},
		{name: "no type named", args: []string{"subscriptions", "stop", "--yes"}, code: 2,
			stderr: []string{"needs the content types"}, after: map[string]string{"Audit.Exchange": "enabled"}},
		{name: "unknown type", args: []string{"subscriptions", "stop", "--yes", "Audit.Nope"}, code: 2, stderr: []string{"Audit.Nope"}},
		{name: "stopped with --yes after the types", args: []string{"subscriptions", "stop", "audit.general", "dlp.all", "--yes"}, code: 0,
			stdout: []string{"Audit.General: stopped", "DLP.All: stopped", "gone for good", "12 hours"},
			after:  map[string]string{"Audit.General": "disabled", "DLP.All": "disabled", "Audit.Exchange": "enabled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
			code, stdout, stderr := h.run(tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for ct, want := range tt.after {
				if got := h.srv.Subscription(ct); got != want {
					t.Errorf("%s = %q, want %q", ct, got, want)
				}
			}
		})
	}
}
