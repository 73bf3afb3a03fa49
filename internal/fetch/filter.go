package fetch

import (
	"sync/atomic"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/dedup"
)

// nextOwner numbers blob downloads: each claims its records in the index under its own number.
var nextOwner atomic.Uint64

// claims decides, record by record, whether a blob's record is written: not when the index
// says it was written before, or another blob is writing it right now. The records it lets
// through are claimed until the blob is appended (commit) or fails (release).
type claims struct {
	idx     *dedup.Index
	owner   uint64
	keys    []dedup.Key // claims of the current attempt
	dropped int
}

func newClaims(idx *dedup.Index) *claims {
	return &claims{idx: idx, owner: nextOwner.Add(1)}
}

// keep is blob.Options.Keep.
func (c *claims) keep(id []byte) bool {
	k := dedup.KeyOfBytes(id)
	if !c.idx.Claim(k, c.owner) {
		c.dropped++
		return false
	}
	c.keys = append(c.keys, k)
	return true
}

// reset starts a new attempt at the same blob: the earlier attempt's claims are given up.
func (c *claims) reset() {
	c.release()
	c.dropped = 0
}

// commit records the claimed records as written: their lines are appended.
func (c *claims) commit(now time.Time) {
	c.idx.Commit(c.keys, c.owner, now)
	c.keys = c.keys[:0]
}

// release gives the claims up: the blob was not written and will be retried.
func (c *claims) release() {
	if len(c.keys) > 0 {
		c.idx.Release(c.keys, c.owner)
	}
	c.keys = c.keys[:0]
}
