package cli

import (
	"context"
	"errors"

	"github.com/o365logfetch/o365logfetch/internal/activity"
	"github.com/o365logfetch/o365logfetch/internal/auth"
	"github.com/o365logfetch/o365logfetch/internal/config"
	"github.com/o365logfetch/o365logfetch/internal/fetch"
	"github.com/o365logfetch/o365logfetch/internal/localfs"
	"github.com/o365logfetch/o365logfetch/internal/state"
)

// Exit codes, documented in README.md and --help.
const (
	ExitOK         = 0 // everything fetched
	ExitIncomplete = 1 // some content could not be fetched; progress kept, the next run retries
	ExitUsage      = 2 // usage or configuration error
	ExitAuth       = 3 // authentication or permission error
	ExitLocked     = 4 // another run holds the lock
	ExitStorage    = 5 // a local storage fault (disk full, quota, read-only, I/O error) stopped the run
)

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// exitCode is the one place that maps errors to exit codes.
func exitCode(err error) int {
	var (
		usage    *usageError
		cfg      *config.Error
		cred     *auth.CredentialError
		corrupt  *state.CorruptError
		aad      *auth.Error
		locked   *state.LockedError
		setupErr *setupError
		fault    *localfs.FaultError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &usage), errors.As(err, &cfg), errors.As(err, &cred), errors.As(err, &corrupt), errors.As(err, &setupErr):
		return ExitUsage
	case errors.As(err, &fault), localfs.IsFault(err):
		return ExitStorage
	case errors.As(err, &aad), activity.Fatal(err):
		return ExitAuth
	case errors.As(err, &locked):
		return ExitLocked
	case errors.Is(err, fetch.ErrIncomplete), errors.Is(err, context.Canceled):
		return ExitIncomplete
	}
	return ExitIncomplete
}

// setupError is a local problem found before fetching (a directory that cannot be created or
// written): the user must fix the machine or the config.
type setupError struct{ err error }

func (e *setupError) Error() string { return e.err.Error() }
func (e *setupError) Unwrap() error { return e.err }
