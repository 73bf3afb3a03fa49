package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/atomicfile"
	"github.com/o365logfetch/o365logfetch/internal/exit"
	"github.com/o365logfetch/o365logfetch/internal/layout"
)

// CorruptError is a state file that cannot be read. It is never reset
// silently: starting over means duplicates or gaps, and the user decides.
type CorruptError struct {
	Path string
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("state file %s is unreadable: %v; restore it from a backup, "+
		"or move it aside to start again from %s or initialLookback, accepting duplicate or missing events",
		e.Path, e.Err, layout.LegacyStateFile)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// ExitCode is exit.Usage: a person must restore or move the file; a retry cannot help.
func (e *CorruptError) ExitCode() exit.Code { return exit.Usage }

// VersionError is a state file written by a newer o365logfetch.
type VersionError struct {
	Path    string
	Version int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("state file %s has format version %d, written by a newer o365logfetch "+
		"(this one knows version %d); run the newer release", e.Path, e.Version, Version)
}

// ExitCode is exit.Usage: only a newer release can read the file; a retry cannot help.
func (e *VersionError) ExitCode() exit.Code { return exit.Usage }

// Store owns the state file of one timekeeper directory. Safe for concurrent
// use.
type Store struct {
	dir  string
	path string

	mu sync.Mutex
	// st is what is on disk, or what Open derived when nothing was saved yet. A failed Update
	// restores it from saved.
	st    *State
	saved []byte // the encoding last written (or read at Open); nil before any

	legacy   time.Time
	legacyOK bool
}

// Open reads the state of dir: the state file, else the old tool's
// time.log, else nothing (every type starts with a zero End). dir is created
// with mode 0700 when missing. A state file that cannot be parsed is a
// *CorruptError; one from a newer format is a *VersionError.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	s := &Store{dir: dir, path: filepath.Join(dir, layout.StateFile)}
	data, err := os.ReadFile(s.path)
	switch {
	case err == nil:
		s.st, err = decode(s.path, data)
		if err != nil {
			return nil, err
		}
		s.saved = data
	case errors.Is(err, fs.ErrNotExist):
		s.st = newState()
		end, ok, err := readLegacy(filepath.Join(dir, layout.LegacyStateFile))
		if err != nil {
			return nil, err
		}
		s.st.LegacyEnd, s.legacy, s.legacyOK = end, end, ok
	default:
		return nil, fmt.Errorf("read state: %w", err)
	}
	return s, nil
}

func decode(path string, data []byte) (*State, error) {
	// The version first: a newer format may not fit this build's types,
	// and that deserves its own message rather than "corrupt".
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, &CorruptError{Path: path, Err: jsonError(data, err)}
	}
	switch {
	case head.Version == nil:
		return nil, &CorruptError{Path: path, Err: errors.New("no version")}
	case *head.Version > Version:
		return nil, &VersionError{Path: path, Version: *head.Version}
	case *head.Version < 1:
		return nil, &CorruptError{Path: path, Err: fmt.Errorf("version %d", *head.Version)}
	}
	st := &State{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, &CorruptError{Path: path, Err: jsonError(data, err)}
	}
	if st.Types == nil {
		return nil, &CorruptError{Path: path, Err: errors.New("no types")}
	}
	for name, t := range st.Types {
		if t == nil {
			return nil, &CorruptError{Path: path, Err: fmt.Errorf("type %q: null entry", name)}
		}
	}
	return st, nil
}

// jsonError makes the parser's complaint about an empty or cut-off file say
// so plainly.
func jsonError(data []byte, err error) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("empty file")
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) && syn.Offset >= int64(len(data)) {
		return fmt.Errorf("truncated: %w", err)
	}
	return err
}

// readLegacy reads the old tool's time.log: epoch seconds, possibly with
// surrounding white space or a fraction. ok is false when the file does not
// exist; anything unreadable is an error, since the user counts on it to
// continue where the old tool stopped.
func readLegacy(path string) (end time.Time, ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	text := strings.TrimSpace(string(data))
	secs, frac, _ := strings.Cut(text, ".")
	n, perr := strconv.ParseInt(secs, 10, 64)
	if perr != nil || secs == "" || !digits(secs) || !digits(frac) || n > maxLegacy {
		return time.Time{}, false, fmt.Errorf("%s holds %q, not epoch seconds; fix it, or remove it to start from initialLookback", path, abbrev(text))
	}
	return legacyStart(time.Unix(n, 0).UTC(), time.Local), true, nil
}

// legacyStart is where to continue after the old tool's saved end. That tool formatted its
// window times in the machine's local zone, and the API reads them as UTC: west of UTC every
// window it listed lagged by the zone's offset, so the content of the last such stretch before
// its saved end was never fetched. Start that much earlier. East of UTC its windows ran ahead,
// which skipped nothing.
func legacyStart(end time.Time, zone *time.Location) time.Time {
	if _, offset := end.In(zone).Zone(); offset < 0 {
		return end.Add(time.Duration(offset) * time.Second)
	}
	return end
}

// maxLegacy is 9999-12-31T23:59:59Z: beyond it the value is garbage.
const maxLegacy = 253402300799

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func abbrev(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Path is the state file.
func (s *Store) Path() string { return s.path }

// Legacy returns the time.log value when Open used it because no state file
// existed.
func (s *Store) Legacy() (end time.Time, ok bool) {
	return s.legacy, s.legacyOK
}

// Snapshot returns a deep copy of the state.
func (s *Store) Snapshot() *State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Clone()
}

// Type returns a deep copy of the entry of contentType; one with End =
// LegacyEnd when the type has none yet.
func (s *Store) Type(contentType string) Type {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.st.Types[contentType]; t != nil {
		return t.clone()
	}
	return Type{End: s.st.LegacyEnd}
}

// Update applies fn to a copy of the state, prunes expired ledger entries
// (as of now) and saves the result atomically. Only when the save succeeds
// does the copy become the state, so on error the Store still holds what is
// on disk. Updates are serialised.
func (s *Store) Update(now time.Time, fn func(*State)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// fn works on the state itself, not a copy: the known-blob ledger can be large, and a deep
	// copy per save cost more than keeping the last saved encoding, which a failed save restores.
	fn(s.st)
	s.st.Version = Version
	s.st.Prune(now)
	for name, t := range s.st.Types {
		if t == nil {
			delete(s.st.Types, name)
		}
	}
	if err := s.save(s.st); err != nil {
		if prev, rerr := s.last(); rerr == nil {
			s.st = prev
		} else {
			err = errors.Join(err, fmt.Errorf("and the last saved state could not be restored: %w", rerr))
		}
		return err
	}
	return nil
}

// last is the state as last saved (or as Open found it, before any save).
func (s *Store) last() (*State, error) {
	if s.saved == nil {
		st := newState()
		st.LegacyEnd = s.legacy
		return st, nil
	}
	return decode(s.path, s.saved)
}

// save writes st and keeps its encoding, from which a failed save later restores.
func (s *Store) save(st *State) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(st); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := atomicfile.WriteFile(s.path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	s.saved = buf.Bytes()
	return nil
}
