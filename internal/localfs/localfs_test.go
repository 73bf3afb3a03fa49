package localfs_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/o365logfetch/o365logfetch/internal/localfs"
)

func TestIsFault(t *testing.T) {
	wrapped := func(e error) error {
		return fmt.Errorf("append out/Audit.Exchange.log: %w", &fs.PathError{Op: "write", Path: "out/Audit.Exchange.log", Err: e})
	}
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("no space left on device"), false}, // words are not a fault
		{wrapped(syscall.ENOSPC), true},
		{wrapped(syscall.EIO), true},
		{wrapped(syscall.EROFS), true},
		{wrapped(syscall.EACCES), false},
		{wrapped(os.ErrClosed), false},
		{errors.Join(errors.New("first"), wrapped(syscall.ENOSPC)), true},
	} {
		if got := localfs.IsFault(tt.err); got != tt.want {
			t.Errorf("IsFault(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestFaultNamesDirectoryAndFreeSpace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Audit.Exchange.log")
	err := localfs.NewFault("/elsewhere", "output file", fmt.Errorf("append: %w", &fs.PathError{Op: "write", Path: path, Err: syscall.ENOSPC}))
	if err.Dir != dir {
		t.Errorf("Dir = %q, want the directory of the file, %q", err.Dir, dir)
	}
	if err.Free <= 0 {
		t.Errorf("Free = %d, want the free space of %s", err.Free, dir)
	}
	msg := err.Error()
	for _, want := range []string{"output file", dir, "no space left on device", "free there"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Error("the fault does not unwrap to its cause")
	}
}

func TestFreeOfMissingDirectory(t *testing.T) {
	if _, err := localfs.Free(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Free of a missing directory: no error")
	}
	f := localfs.NewFault(filepath.Join(t.TempDir(), "missing"), "state file", syscall.EIO)
	if f.Free != -1 || !strings.Contains(f.Error(), "free space unknown") {
		t.Errorf("free space of a missing directory: %d, %s", f.Free, f.Error())
	}
}

func TestInjectedFault(t *testing.T) {
	t.Cleanup(func() { localfs.Inject(nil) })
	if err := localfs.Check("write", "/x/a"); err != nil {
		t.Fatalf("no fault injected: %v", err)
	}
	localfs.Inject(func(path string) error {
		if path == "/x/a" {
			return syscall.ENOSPC
		}
		return nil
	})
	err := localfs.Check("write", "/x/a")
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != "/x/a" || !localfs.IsFault(err) {
		t.Errorf("Check = %v, want a path error with ENOSPC", err)
	}
	if err := localfs.Check("write", "/x/b"); err != nil {
		t.Errorf("Check of another path = %v", err)
	}
}
