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

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs; if intended, run with -update\n got:\n%s\nwant:\n%s", name, got, want)
	}
}
