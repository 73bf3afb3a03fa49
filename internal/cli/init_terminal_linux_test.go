package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/cli"
	"github.com/o365logfetch/o365logfetch/internal/config"
)

// On a real terminal init asks, and the answers typed there make the config; from a pipe it
// reads nothing and names what is missing.
func TestInitAsksOnATerminalOnly(t *testing.T) {
	const (
		tenantID = "41463f53-8812-40f4-890f-865bf6e35190"
		clientID = "8a2d1f0e-6b7c-4d3e-9f10-1a2b3c4d5e6f"
	)
	args := func(dir string) []string { return []string{"init", "--dir", dir, "--key-bits", "2048"} }

	t.Run("terminal", func(t *testing.T) {
		pty, tty := openPTY(t)
		defer pty.Close()
		screen := readScreen(pty)
		// Typed ahead: the terminal holds the lines until init reads them.
		if _, err := pty.WriteString(tenantID + "\n" + clientID + "\ncontoso.onmicrosoft.com\nGCC\n"); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		var stdout bytes.Buffer
		app := cli.App{Stdout: &stdout, Stderr: tty, Stdin: tty, Now: time.Now}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		code := app.Run(ctx, args(dir))
		tty.Close()
		out := <-screen
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		for _, q := range []string{"Directory (tenant) ID", "Application (client) ID", "Tenant domain", "Cloud:"} {
			if strings.Count(out, q) != 1 {
				t.Errorf("%q asked %d times:\n%s", q, strings.Count(out, q), out)
			}
		}
		cfg, err := config.Load(filepath.Join(dir, "o365_logs.cfg"), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Tenant != "contoso.onmicrosoft.com" || cfg.TenantID != tenantID || cfg.ClientID != clientID || cfg.Resource != "https://manage-gcc.office.com" {
			t.Errorf("config from the answers: %q %q %q %q", cfg.Tenant, cfg.TenantID, cfg.ClientID, cfg.Resource)
		}
	})

	t.Run("pipe", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := w.WriteString(tenantID + "\n" + clientID + "\n\n\n"); err != nil {
			t.Fatal(err)
		}
		w.Close()
		dir := t.TempDir()
		var stdout, stderr bytes.Buffer
		app := cli.App{Stdout: &stdout, Stderr: &stderr, Stdin: r, Now: time.Now}
		if code := app.Run(context.Background(), args(dir)); code != cli.ExitUsage ||
			!strings.Contains(stderr.String(), "missing --tenant-id and --client-id (not asked: stdin is not a terminal)") {
			t.Errorf("exit %d\n%s", code, stderr.String())
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("files written: %v", entries)
		}
	})
}
