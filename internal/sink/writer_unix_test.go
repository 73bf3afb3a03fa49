//go:build unix

package sink

import (
	"os"
	"path/filepath"
	"strings"
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

// logrotate in create mode renames the file and creates a new one (or none, with nocreate):
// the next blob goes to the file the path names, the renamed file keeps what it had.
func TestAppendFollowsRenameRotation(t *testing.T) {
	for _, create := range []bool{true, false} {
		dir := t.TempDir()
		w := openWriter(t, dir, "Audit.Exchange")
		if _, err := w.Append(strings.NewReader("{\"Id\":\"a\"}\n")); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "Audit.Exchange.log")
		if err := os.Rename(path, path+".1"); err != nil {
			t.Fatal(err)
		}
		if create {
			if err := os.WriteFile(path, nil, 0o640); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Append(strings.NewReader("{\"Id\":\"b\"}\n")); err != nil {
			t.Fatal(err)
		}
		if size, err := w.Size(); err != nil || size != 11 {
			t.Errorf("create=%v: size %d (%v), want the new file's 11", create, size, err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, path+".1"); got != "{\"Id\":\"a\"}\n" {
			t.Errorf("create=%v: renamed file holds %q", create, got)
		}
		if got := readFile(t, path); got != "{\"Id\":\"b\"}\n" {
			t.Errorf("create=%v: new file holds %q", create, got)
		}
	}
}
