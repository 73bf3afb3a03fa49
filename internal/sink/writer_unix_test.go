//go:build unix

package sink

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestOpenCreatesMode0640(t *testing.T) {
	// Fix the umask so the result does not depend on the caller's shell.
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })

	tests := []struct {
		name     string
		existing os.FileMode // 0: file does not exist yet
		want     os.FileMode
	}{
		{name: "created", want: 0o640},
		{name: "existing mode kept", existing: 0o600, want: 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.existing != 0 {
				if err := os.WriteFile(filepath.Join(dir, "Audit.Exchange.log"), nil, tt.existing); err != nil {
					t.Fatal(err)
				}
			}
			w := openWriter(t, dir, "Audit.Exchange")
			fi, err := os.Stat(w.Path())
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tt.want {
				t.Errorf("mode = %o, want %o", got, tt.want)
			}
		})
	}
}
