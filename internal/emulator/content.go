package emulator

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// retention is how long content stays fetchable after it became available.
const retention = 7 * 24 * time.Hour

// BlobSpec describes one content blob to serve.
type BlobSpec struct {
	ContentType  string        // exact canonical casing
	Created      time.Time     // contentCreated (ms precision, UTC); zero = Now()
	VisibleAfter time.Duration // listed only once Now() >= Created+VisibleAfter (late-published content); 0 = at once
	Records      int           // number of generated records (0 = empty blob "[]")
	RepeatIDs    []string      // record Ids from earlier blobs to include again (duplicates across blobs, by design at Microsoft)
	RecordBytes  int           // approximate size per record; 0 = random 500..4000
	Shape        *RecordShape  // records shaped like captured ones (RecordBytes ignored); nil = the default mix
	// ContentID replaces the generated contentId (real ones come in several shapes).
	ContentID string
	// Listed is how long after Created the listing says the blob expires; 0 = 7 days. Real
	// listings have said 7, 14 and about 21 days. Downloads still end 7 days after Created.
	Listed time.Duration
	// Body, when set, is served verbatim as the blob's body instead of generated records
	// (Records and RepeatIDs are then ignored); RecordIDs reports the Ids found in it.
	Body []byte
}

// Blob is a blob as the emulator serves it.
type Blob struct {
	ContentType, ContentID, ContentURI string
	Created, Expiration                time.Time
	RecordIDs                          []string // Ids of the records this blob serves, in order (including repeats)
}

// blobEntry keeps only what regenerates a blob: its body is produced on
// request, never stored (unless the spec gives one verbatim).
type blobEntry struct {
	spec    BlobSpec
	seq     uint64
	id      string
	created time.Time
}

func (b *blobEntry) expiration() time.Time { return b.created.Add(retention) }

// listedExpiration is the contentExpiration the listing shows.
func (b *blobEntry) listedExpiration(quirks bool) time.Time {
	switch {
	case b.spec.Listed > 0:
		return b.created.Add(b.spec.Listed)
	case quirks:
		return b.created.Add(2 * retention)
	}
	return b.expiration()
}

func (b *blobEntry) visibleAt() time.Time { return b.created.Add(b.spec.VisibleAfter) }

// recordCount is the number of records the blob serves, repeats included.
func (b *blobEntry) recordCount() int { return b.spec.Records + len(b.spec.RepeatIDs) }

// recordID is the Id of the i-th record (generated first, then repeats).
func (e *Emulator) recordID(b *blobEntry, i int) string {
	if i < b.spec.Records {
		return e.genID(b.seq, uint32(i))
	}
	return b.spec.RepeatIDs[i-b.spec.Records]
}

// splitmix64 is a tiny bijective mixer: good enough to scatter bits.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// genID makes a version-4-looking GUID that encodes (blob seq, index) under a
// seed mask: unique by construction and reversible, so a repeated Id
// regenerates the very same record.
func (e *Emulator) genID(seq uint64, idx uint32) string {
	key := seq<<32 | uint64(idx)
	hi := key ^ splitmix64(uint64(e.cfg.Seed))
	lo := splitmix64(uint64(e.cfg.Seed) ^ splitmix64(key))
	var h, b [8]byte
	binary.BigEndian.PutUint64(h[:], hi)
	binary.BigEndian.PutUint64(b[:], lo)
	var g [16]byte
	copy(g[0:6], h[0:6])
	g[6] = 0x40 | b[0]&0x0f
	g[7] = h[6]
	g[8] = 0x80 | b[1]&0x3f
	g[9] = h[7]
	copy(g[10:16], b[2:8])
	s := hex.EncodeToString(g[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// parseID reverses genID; ok is false for Ids the emulator did not make.
func (e *Emulator) parseID(id string) (seq uint64, idx uint32, ok bool) {
	raw, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(raw) != 16 || len(id) != 36 {
		return 0, 0, false
	}
	var h [8]byte
	copy(h[0:6], raw[0:6])
	h[6] = raw[7]
	h[7] = raw[9]
	key := binary.BigEndian.Uint64(h[:]) ^ splitmix64(uint64(e.cfg.Seed))
	seq, idx = key>>32, uint32(key)
	if e.genID(seq, idx) != strings.ToLower(id) {
		return 0, 0, false
	}
	return seq, idx, true
}

var regions = []string{"emea0027", "namp0113", "apac0042", "emea0104", "namp0091"}

// contentID mimics Microsoft's opaque ids; clients must never parse them.
func (e *Emulator) contentID(ct string, created time.Time, seq uint64) string {
	ts := created.Format("20060102150405.000")
	ts = strings.Replace(ts, ".", "", 1) + fmt.Sprintf("%06d", splitmix64(uint64(e.cfg.Seed)^seq)%1000000)
	lower := strings.ToLower(strings.ReplaceAll(ct, ".", "_"))
	return fmt.Sprintf("%s$%s$%s$%s$%s%d", ts, ts, lower, strings.ReplaceAll(ct, ".", "_"), regions[seq%uint64(len(regions))], seq)
}

func (e *Emulator) contentURI(base, id string) string {
	return base + "/api/v1.0/" + e.cfg.TenantID + "/activity/feed/audit/" + id
}

// AddBlob adds a blob and returns it as the emulator serves it. ContentURI is
// absolute once the URL is known (Start, SetURL), else a path.
func (e *Emulator) AddBlob(s BlobSpec) Blob {
	if s.Created.IsZero() {
		s.Created = e.now()
	}
	s.RepeatIDs = append([]string(nil), s.RepeatIDs...)
	e.mu.Lock()
	e.nextSeq++
	b := &blobEntry{spec: s, seq: e.nextSeq, created: s.Created.UTC().Truncate(time.Millisecond)}
	b.id = s.ContentID
	if b.id == "" {
		b.id = e.contentID(s.ContentType, b.created, b.seq)
	}
	list := e.blobs[s.ContentType]
	i := sort.Search(len(list), func(i int) bool { return list[i].created.After(b.created) })
	list = append(list, nil)
	copy(list[i+1:], list[i:])
	list[i] = b
	e.blobs[s.ContentType] = list
	e.byID[b.id] = b
	e.bySeq[b.seq] = b
	base := e.baseURL
	e.mu.Unlock()
	return e.blobView(b, base)
}

func (e *Emulator) blobView(b *blobEntry, base string) Blob {
	ids := make([]string, b.recordCount())
	for i := range ids {
		ids[i] = e.recordID(b, i)
	}
	if b.spec.Body != nil {
		ids = bodyIDs(b.spec.Body)
	}
	return Blob{
		ContentType: b.spec.ContentType,
		ContentID:   b.id,
		ContentURI:  e.contentURI(base, b.id),
		Created:     b.created,
		Expiration:  b.expiration(),
		RecordIDs:   ids,
	}
}

// bodyIDs is the top-level Id of every record of a verbatim body that is a JSON array of
// objects; records without a string Id are left out.
func bodyIDs(body []byte) []string {
	var recs []struct {
		ID any `json:"Id"`
	}
	if json.Unmarshal(body, &recs) != nil {
		return nil
	}
	var ids []string
	for _, r := range recs {
		if id, ok := r.ID.(string); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// Generate adds one blob every `every` with contentCreated in [from, to),
// recordsPerBlob records each.
func (e *Emulator) Generate(contentType string, from, to time.Time, every time.Duration, recordsPerBlob int) []Blob {
	if every <= 0 {
		return nil
	}
	var out []Blob
	for t := from; t.Before(to); t = t.Add(every) {
		out = append(out, e.AddBlob(BlobSpec{ContentType: contentType, Created: t, Records: recordsPerBlob}))
	}
	return out
}

// Body returns what a download of the blob answers when no fault is injected, so that what
// the tool does with a body can be measured on these records without a server.
func (e *Emulator) Body(contentID string) ([]byte, error) {
	e.mu.Lock()
	b := e.byID[contentID]
	e.mu.Unlock()
	if b == nil {
		return nil, fmt.Errorf("emulator: no blob %q", contentID)
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := e.writeBlob(w, b, -1); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Blobs returns every blob of a content type in contentCreated order,
// visible or not.
func (e *Emulator) Blobs(contentType string) []Blob {
	e.mu.Lock()
	list := append([]*blobEntry(nil), e.blobs[contentType]...)
	base := e.baseURL
	e.mu.Unlock()
	out := make([]Blob, len(list))
	for i, b := range list {
		out[i] = e.blobView(b, base)
	}
	return out
}

// RecordIDs returns every distinct record Id the type's blobs serve, in
// order of first appearance.
func (e *Emulator) RecordIDs(contentType string) []string {
	e.mu.Lock()
	list := append([]*blobEntry(nil), e.blobs[contentType]...)
	e.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, b := range list {
		for _, id := range e.blobView(b, "").RecordIDs {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}
