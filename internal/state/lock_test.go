package state

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/o365logfetch/o365logfetch/internal/layout"
)

// lockDirEnv tells the test binary, started as a child process, to act as a
// run holding the lock of that directory.
const lockDirEnv = "O365LOGFETCH_STATE_LOCK_DIR"

func TestLockExcludesSecondHolder(t *testing.T) {
	dir := t.TempDir()
	l, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Path(), filepath.Join(dir, layout.LockFile); got != want {
		t.Errorf("Path() = %q, want %q", got, want)
	}

	// flock locks belong to the open file, so a second Lock in this
	// process conflicts just like another process would.
	_, err = Lock(dir)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Lock error = %v (%T), want *LockedError", err, err)
	}
	if le.Path != l.Path() {
		t.Errorf("LockedError.Path = %q, want %q", le.Path, l.Path())
	}
	wantPid := fmt.Sprintf("pid %d on ", os.Getpid())
	if !strings.HasPrefix(le.Holder, wantPid) || !strings.Contains(le.Holder, ", since ") {
		t.Errorf("Holder = %q, want it to start with %q and give the start time", le.Holder, wantPid)
	}
	if !strings.Contains(err.Error(), le.Holder) || !strings.Contains(err.Error(), "another o365logfetch run") {
		t.Errorf("error %q does not name the holder", err)
	}

	// A plain flock.Flock on the same file is refused too.
	other := flock.New(l.Path())
	if ok, err := other.TryLock(); err != nil || ok {
		t.Errorf("second flock.TryLock = %v, %v; want false, nil", ok, err)
	}

	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if ok, err := other.TryLock(); err != nil || !ok {
		t.Fatalf("TryLock after Unlock = %v, %v; want true", ok, err)
	}
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := Lock(dir)
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	if err := l2.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestLockedErrorHolderText(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{name: "empty file", content: "", want: ""},
		{name: "holder not yet written", content: "\x00", want: ""},
		{name: "control characters dropped", content: "\x00pid 1\x1b[31m on host\n", want: "pid 1[31m on host"},
		{name: "only the first line", content: "\x00pid 7 on a, since x\nmore\n", want: "pid 7 on a, since x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, layout.LockFile)
			writeFile(t, path, tt.content)
			holder := flock.New(path)
			if ok, err := holder.TryLock(); err != nil || !ok {
				t.Fatalf("TryLock = %v, %v", ok, err)
			}
			defer holder.Unlock()
			_, err := Lock(dir)
			var le *LockedError
			if !errors.As(err, &le) {
				t.Fatalf("Lock error = %v, want *LockedError", err)
			}
			if le.Holder != tt.want {
				t.Errorf("Holder = %q, want %q", le.Holder, tt.want)
			}
			if tt.want == "" && !strings.Contains(err.Error(), "unknown process") {
				t.Errorf("error %q does not say the holder is unknown", err)
			}
		})
	}
}

// TestHelperLock is not a test: run as a child process by
// TestLockOfKilledProcess, it takes the lock, says so, and waits to be killed.
func TestHelperLock(t *testing.T) {
	dir := os.Getenv(lockDirEnv)
	if dir == "" {
		t.Skip("child process of TestLockOfKilledProcess only")
	}
	if _, err := Lock(dir); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	os.Exit(2)
}

func TestLockOfKilledProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperLock$")
	cmd.Env = append(os.Environ(), lockDirEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("child said %q, %v; want %q", line, err, "locked\n")
	}

	_, err = Lock(dir)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("Lock while the child holds it = %v, want *LockedError", err)
	}
	if want := fmt.Sprintf("pid %d on ", cmd.Process.Pid); !strings.HasPrefix(le.Holder, want) {
		t.Errorf("Holder = %q, want the child's %q", le.Holder, want)
	}

	// SIGKILL: no chance to unlock or clean up.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, layout.LockFile)); err != nil {
		t.Fatalf("lock file gone: %v", err)
	}
	l, err := Lock(dir)
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
}
