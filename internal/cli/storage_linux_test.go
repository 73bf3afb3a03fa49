package cli_test

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// mountTmpfs mounts a tmpfs of size (e.g. "3m") on dir, or skips the test where mounting is
// not allowed. It is unmounted when the test ends, before its temporary directory is removed.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("cannot mount a small filesystem (%v): needs root; the file-layer fault tests cover the same path", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

// resizeTmpfs makes room on a tmpfs mounted by mountTmpfs, keeping its files.
func resizeTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_REMOUNT, "size="+size); err != nil {
		t.Fatalf("resize %s: %v", dir, err)
	}
}

// A real 3 MB filesystem under baseLogLocation fills mid-run: the run stops at once, and once
// there is room the next run writes every record once.
func TestSmallOutputFilesystemFillsMidRun(t *testing.T) {
	h := storageHarness(t, false)
	mountTmpfs(t, h.out, "3m")
	checkStopped(t, h, h.out, func() { resizeTmpfs(t, h.out, "64m") })
}

// The same with timeKeeperLocation on a 3 MB filesystem: the spool of a big blob fills it.
func TestSmallStateFilesystemFillsMidRun(t *testing.T) {
	h := storageHarness(t, true)
	mountTmpfs(t, h.state, "3m")
	checkStopped(t, h, h.state, func() { resizeTmpfs(t, h.state, "64m") })
}
