package state

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/gofrs/flock"

	"github.com/o365logfetch/o365logfetch/internal/exit"
	"github.com/o365logfetch/o365logfetch/internal/layout"
)

// holderOffset is where the holder description starts in the lock file.
// Windows locks byte 0 with a mandatory lock that stops every other handle,
// including our own, from reading or writing it; the text lives after it.
const holderOffset = 1

// LockedError is returned by Lock when another process holds the run lock.
type LockedError struct {
	Path   string
	Holder string // "pid 1234 on host, since 2026-11-25T09:00:00Z", or "" when unknown
}

func (e *LockedError) Error() string {
	holder := e.Holder
	if holder == "" {
		holder = "unknown process"
	}
	return fmt.Sprintf("another o365logfetch run holds %s (%s); wait for it to finish", e.Path, holder)
}

// ExitCode is exit.Locked.
func (e *LockedError) ExitCode() exit.Code { return exit.Locked }

// RunLock is the exclusive run lock of a timekeeper directory.
type RunLock struct {
	f *flock.Flock
}

// Lock takes the run lock <dir>/o365logfetch.lock without waiting. When
// another process holds it, the error is a *LockedError naming the holder.
// The lock is an OS file lock, so it dies with its process: a run killed
// with SIGKILL does not block the next one.
func Lock(dir string) (*RunLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock directory: %w", err)
	}
	path := filepath.Join(dir, layout.LockFile)
	f := flock.New(path, flock.SetPermissions(0o600))
	ok, err := f.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		return nil, &LockedError{Path: path, Holder: readHolder(path)}
	}
	// The description only serves the message of a run that finds the lock
	// taken; failing to write it is no reason to stop this one.
	writeHolder(path)
	return &RunLock{f: f}, nil
}

// Path is the lock file.
func (l *RunLock) Path() string { return l.f.Path() }

// Unlock releases the lock. The file stays: removing it could let two runs
// lock different files of the same name.
func (l *RunLock) Unlock() error {
	if err := l.f.Unlock(); err != nil {
		return fmt.Errorf("unlock %s: %w", l.f.Path(), err)
	}
	return nil
}

func writeHolder(path string) {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown host"
	}
	text := fmt.Sprintf("pid %d on %s, since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(text), holderOffset); err == nil {
		_ = f.Truncate(holderOffset + int64(len(text)))
	}
}

// maxHolder bounds what is read back from a lock file of unknown content.
const maxHolder = 256

func readHolder(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	buf := make([]byte, maxHolder)
	n, err := f.ReadAt(buf, holderOffset)
	if err != nil && err != io.EOF {
		return ""
	}
	line, _, _ := bytes.Cut(buf[:n], []byte("\n"))
	// The file is outside our control: keep control characters out of the
	// message.
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if !unicode.IsGraphic(r) {
			return -1
		}
		return r
	}, string(line)))
}
