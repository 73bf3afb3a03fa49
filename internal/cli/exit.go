package cli

import (
	"github.com/o365logfetch/o365logfetch/internal/exit"
	"github.com/o365logfetch/o365logfetch/internal/localfs"
)

// Exit codes, documented in README.md and --help. Each error says which one it means where it
// is made (an ExitCode method, see package exit); exitCode only reads it.
const (
	ExitOK         = int(exit.OK)         // everything fetched
	ExitIncomplete = int(exit.Incomplete) // some content could not be fetched; progress kept, the next run retries
	ExitUsage      = int(exit.Usage)      // usage or configuration error
	ExitAuth       = int(exit.Auth)       // authentication or permission error
	ExitLocked     = int(exit.Locked)     // another run holds the lock
	ExitStorage    = int(exit.Storage)    // a local storage fault (disk full, quota, read-only, I/O error) stopped the run
)

// exitCode is the exit code err carries. An error that carries none is retried by the next run
// (exit 1), unless it is the operating system's own word for a storage fault that no layer
// wrapped (a disk that is full is full whoever met it).
func exitCode(err error) int {
	if code, ok := exit.Of(err); ok {
		return int(code)
	}
	if localfs.IsFault(err) {
		return ExitStorage
	}
	return ExitIncomplete
}

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string       { return e.msg }
func (e *usageError) ExitCode() exit.Code { return exit.Usage }

// setupError is a local problem found before fetching (a directory that cannot be created or
// written): the user must fix the machine or the config.
type setupError struct{ err error }

func (e *setupError) Error() string { return e.err.Error() }
func (e *setupError) Unwrap() error { return e.err }
func (e *setupError) ExitCode() exit.Code {
	// A directory on a full or read-only filesystem is a storage fault, not a configuration error.
	if localfs.IsFault(e.err) {
		return exit.Storage
	}
	return exit.Usage
}
