package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/o365logfetch/o365logfetch/internal/layout"

	"github.com/o365logfetch/o365logfetch/internal/cli"
)

// A file in the timekeeper directory that this build cannot use is the user's to fix: a run
// exits 2 (the next run would meet it again), says which file and what to do, and leaves the
// file as it was.
func TestUnusableStateFilesExitUsage(t *testing.T) {
	tests := []struct {
		name, file, content, says string
	}{
		{"state from a newer version", layout.StateFile, `{"version": 99, "types": {}}`, "run the newer release"},
		{"record index damaged", layout.RecordIndex, "not an index\n", "move it aside"},
		{"blob ledger damaged", layout.BlobLedger, "not a ledger\n", "move it aside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{types: []string{"Audit.General"}})
			if err := os.MkdirAll(h.state, 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(h.state, tt.file)
			writeFile(t, path, tt.content)
			_, stderr := h.mustRun(cli.ExitUsage)
			if !strings.Contains(stderr, path) || !strings.Contains(stderr, tt.says) {
				t.Errorf("stderr does not name %s and say %q:\n%s", path, tt.says, stderr)
			}
			if got, err := os.ReadFile(path); err != nil || string(got) != tt.content {
				t.Errorf("%s changed: %q, %v", tt.file, got, err)
			}
		})
	}
}
