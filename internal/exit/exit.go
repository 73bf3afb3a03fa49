// Package exit names the exit codes of o365logfetch and lets an error carry its own from where
// it is made, so that the command line reads the code off the error instead of keeping a list of
// every package's error types (a list that goes stale the day a package adds one).
package exit

import "errors"

// Code is a process exit code. The values are documented in README.md and --help; scripts and
// schedulers branch on them, so they never change meaning.
type Code int

const (
	OK         Code = 0 // everything fetched
	Incomplete Code = 1 // some content could not be fetched; progress kept, the next run retries
	Usage      Code = 2 // usage or configuration error: a person must fix something first
	Auth       Code = 3 // authentication or permission error
	Locked     Code = 4 // another run holds the lock
	Storage    Code = 5 // a local storage fault (disk full, quota, read-only, I/O error) stopped the run
)

// Coder is an error that knows its exit code.
type Coder interface {
	error
	ExitCode() Code
}

// Of is the exit code err carries: that of the outermost error in its chain that has one. ok
// is false when none has: the caller decides (an error nobody classified is retried by the next
// run).
func Of(err error) (code Code, ok bool) {
	if err == nil {
		return OK, true
	}
	var c Coder
	if errors.As(err, &c) {
		return c.ExitCode(), true
	}
	return Incomplete, false
}
