// Package localfs tells local storage faults apart from other errors, measures the free space of
// a directory, and lets tests make the file layer fail as a full or broken disk would.
package localfs

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync/atomic"

	"github.com/o365logfetch/o365logfetch/internal/exit"
)

// IsFault reports whether err is a local storage fault that the next write to the same
// filesystem cannot escape: no space, quota exceeded, read-only filesystem, I/O error (or their
// Windows equivalents). Such an error stops a run: retrying blob after blob only wastes the
// tenant's quota.
func IsFault(err error) bool {
	if err == nil {
		return false
	}
	for _, e := range faultErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// FaultError is a local storage fault met while writing: which directory, what failed, and
// the free space there when it was noticed.
type FaultError struct {
	Dir  string // the directory written to
	What string // what was being written: "output", "state", "record index", ...
	Err  error
	Free int64 // bytes free in Dir for this user, -1 when unknown
}

func (e *FaultError) Error() string {
	free := "free space unknown"
	if e.Free >= 0 {
		free = FormatBytes(e.Free) + " free there"
	}
	return fmt.Sprintf("local storage fault: writing the %s in %s failed: %v (%s); the run stopped: "+
		"make room or fix the filesystem, then run again: what was written is kept, and nothing is written twice",
		e.What, e.Dir, cause(e.Err), free)
}

func (e *FaultError) Unwrap() error { return e.Err }

// ExitCode is exit.Storage.
func (e *FaultError) ExitCode() exit.Code { return exit.Storage }

// NewFault describes err, met while writing what in dir. The directory is that of the file
// named in err when it names one.
func NewFault(dir, what string, err error) *FaultError {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path != "" {
		dir = filepath.Dir(pe.Path)
	}
	free, ferr := Free(dir)
	if ferr != nil {
		free = -1
	}
	return &FaultError{Dir: dir, What: what, Err: err, Free: free}
}

// cause is the innermost system error of err when there is one: the message names the
// directory already, and the wrapping of each layer adds nothing for the user.
func cause(err error) error {
	for _, e := range faultErrnos {
		if errors.Is(err, e) {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				return fmt.Errorf("%s %s: %w", pe.Op, filepath.Base(pe.Path), e)
			}
			return e
		}
	}
	return err
}

// FormatBytes formats a byte count for people: 512 B, 1.5 KiB, 12.0 MiB.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// injected is a fault set by a test: it is asked before every write of the tool's files.
var injected atomic.Pointer[func(path string) error]

// Inject makes Check return fault(path) before every write of the tool's files (nil: none).
// For tests: it lets the file layer fail as a full or broken disk would where no small
// filesystem can be mounted.
func Inject(fault func(path string) error) {
	if fault == nil {
		injected.Store(nil)
		return
	}
	injected.Store(&fault)
}

// Check is called by the file layer before it writes to path; it returns the injected fault,
// if any, as a *fs.PathError.
func Check(op, path string) error {
	f := injected.Load()
	if f == nil {
		return nil
	}
	if err := (*f)(path); err != nil {
		return &fs.PathError{Op: op, Path: path, Err: err}
	}
	return nil
}

// ReadProblem words why a file the user named could not be read, for a message that names the
// file already; missing says what to do when there is no such file.
func ReadProblem(err error, missing string) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file; " + missing
	case errors.Is(err, fs.ErrPermission):
		return "permission denied; the account running o365logfetch needs read access to it"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is named already
	}
	return "cannot read: " + err.Error()
}
