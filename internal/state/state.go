// Package state is the timekeeper: how far each content type has been
// fetched, which blobs are already in the output, which failed and must be
// retried, and the lock that keeps two runs apart. The state file is
// versioned JSON, replaced atomically on every save.
package state

import (
	"maps"
	"time"
)

const (
	// Version is the state format this build reads and writes. Any change
	// an older build could misread bumps it; older builds then refuse the
	// file instead of silently dropping what they do not know.
	Version = 1
)

// PruneGrace keeps a ledger entry this long past its contentExpiration, so
// a clock running ahead of Microsoft's cannot drop an entry while the API
// still lists the blob (which would append it twice).
const PruneGrace = time.Hour

// State is the content of the state file.
type State struct {
	Version int `json:"version"`
	// LegacyEnd is the old tool's time.log value, kept as the starting End
	// of content types that have no entry yet. It is persisted so a run that
	// saves some types and then stops cannot make the others forget it.
	LegacyEnd time.Time        `json:"legacyEnd,omitzero"`
	Types     map[string]*Type `json:"types"`
	// Files holds output file sizes as of the last durable commit.
	Files map[string]File `json:"files,omitempty"`
}

// Type is the progress of one content type.
type Type struct {
	// End is the watermark: every blob whose contentCreated is strictly
	// before End has been listed and its lines durably written (or recorded
	// in Pending).
	End time.Time `json:"end"`
	// Known is the ledger of written blobs as earlier builds kept it (contentId → expiration).
	// The blob ledger file holds it now; a run takes over what it finds here and leaves it out
	// of the next save.
	Known map[string]time.Time `json:"known,omitempty"`
	// Pending maps the contentId of blobs that failed to what is needed to
	// retry them on the next run.
	Pending map[string]Pending `json:"pending,omitempty"`
}

// Pending is a blob that failed and must be retried until it expires.
type Pending struct {
	ContentURI        string    `json:"contentUri"`
	ContentCreated    string    `json:"contentCreated"`
	ContentExpiration string    `json:"contentExpiration"`
	Error             string    `json:"error"`
	Attempts          int       `json:"attempts"`
	FirstFailure      time.Time `json:"firstFailure"`
}

// File is what the state remembers of an output file.
type File struct {
	Size int64 `json:"size"`
	// ID names the file itself (device and inode where the system has them): a different ID
	// at the same path means the file was rotated since.
	ID string `json:"id,omitempty"`
}

func newState() *State {
	return &State{Version: Version, Types: map[string]*Type{}}
}

// Type returns the entry of contentType for changing it, creating it when
// absent with End = LegacyEnd.
func (s *State) Type(contentType string) *Type {
	if s.Types == nil {
		s.Types = map[string]*Type{}
	}
	t := s.Types[contentType]
	if t == nil {
		t = &Type{End: s.LegacyEnd}
		s.Types[contentType] = t
	}
	return t
}

// Prune drops ledger entries whose contentExpiration is more than PruneGrace
// before now: the API no longer lists those blobs. Pending entries stay even
// when expired, so the caller can report the loss before removing them.
func (s *State) Prune(now time.Time) {
	cutoff := now.Add(-PruneGrace)
	for _, t := range s.Types {
		if t == nil {
			continue
		}
		maps.DeleteFunc(t.Known, func(_ string, exp time.Time) bool {
			return exp.Before(cutoff)
		})
	}
}

// Clone returns a deep copy of s.
func (s *State) Clone() *State {
	c := &State{
		Version:   s.Version,
		LegacyEnd: s.LegacyEnd,
		Types:     make(map[string]*Type, len(s.Types)),
		Files:     maps.Clone(s.Files),
	}
	for name, t := range s.Types {
		if t == nil {
			continue
		}
		tc := t.clone()
		c.Types[name] = &tc
	}
	return c
}

func (t *Type) clone() Type {
	return Type{
		End:     t.End,
		Known:   maps.Clone(t.Known),
		Pending: maps.Clone(t.Pending),
	}
}
