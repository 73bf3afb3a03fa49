//go:build unix

package sink

import (
	"errors"
	"fmt"
	"io"
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

// truncatingReader yields its lines one by one and empties the file at path after the first
// ones, as logrotate's copytruncate does to a file a run is appending to.
type truncatingReader struct {
	t     *testing.T
	lines []string
	path  string
	after int // lines yielded before the truncation
	n     int
}

func (r *truncatingReader) Read(p []byte) (int, error) {
	if r.n == r.after {
		if err := os.Truncate(r.path, 0); err != nil {
			r.t.Fatal(err)
		}
		r.after = -1
	}
	if r.n == len(r.lines) {
		return 0, io.EOF
	}
	n := copy(p, r.lines[r.n])
	r.n++
	return n, nil
}

func TestAppendTruncatedMidBlob(t *testing.T) {
	// A copytruncate rotation in the middle of a blob: the file must hold no NUL bytes and no
	// part of the blob afterwards, Append must say so, and the next blob starts the file.
	for _, after := range []int{1, 3, 4} { // 4: after the whole blob, before it is checked
		t.Run(fmt.Sprintf("after %d lines", after), func(t *testing.T) {
			w := openWriter(t, t.TempDir(), "Audit.Exchange")
			if _, err := w.Append(strings.NewReader("{\"Id\":\"old-1\"}\n{\"Id\":\"old-2\"}\n")); err != nil {
				t.Fatal(err)
			}
			blob := &truncatingReader{t: t, path: w.Path(), after: after,
				lines: []string{"{\"Id\":\"a\"}\n", "{\"Id\":\"b\"}\n", "{\"Id\":\"c\"}\n", "{\"Id\":\"d\"}\n"}}
			n, err := w.Append(blob)
			if !errors.Is(err, ErrTruncated) || n != 0 {
				t.Fatalf("Append = %d, %v; want 0, ErrTruncated", n, err)
			}
			if got := readFile(t, w.Path()); got != "" {
				t.Errorf("file after a blob cut by truncation = %q, want it empty", got)
			}
			if _, err := w.Append(strings.NewReader("{\"Id\":\"next\"}\n")); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, w.Path()); got != "{\"Id\":\"next\"}\n" {
				t.Errorf("file after the next blob = %q", got)
			}
			if size, err := w.Size(); err != nil || size != int64(len("{\"Id\":\"next\"}\n")) {
				t.Errorf("Size() = %d, %v", size, err)
			}
		})
	}
}

func TestAppendTruncatedBeforeBlob(t *testing.T) {
	// A truncation after the writer found the end but before the blob's first byte: the whole
	// blob lands at the start of the emptied file, which is a success.
	w := openWriter(t, t.TempDir(), "Audit.Exchange")
	if _, err := w.Append(strings.NewReader("{\"Id\":\"old\"}\n")); err != nil {
		t.Fatal(err)
	}
	blob := &truncatingReader{t: t, path: w.Path(), lines: []string{"{\"Id\":\"a\"}\n", "{\"Id\":\"b\"}\n"}}
	n, err := w.Append(blob)
	if err != nil || n != 22 {
		t.Fatalf("Append = %d, %v; want 22, nil", n, err)
	}
	if got := readFile(t, w.Path()); got != "{\"Id\":\"a\"}\n{\"Id\":\"b\"}\n" {
		t.Errorf("file = %q", got)
	}
}
