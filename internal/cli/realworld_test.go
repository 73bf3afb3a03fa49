package cli_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
)

// realworldDir is where audit records that other people captured or wrote are kept: beside
// the repository (../shared/realworld from its root), never in it. O365_REALWORLD_DIR
// overrides.
func realworldDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("O365_REALWORLD_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "realworld")
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Skipf("real-world records not found at %s (a checkout without ../shared/realworld beside it; set O365_REALWORLD_DIR to point elsewhere)", dir)
	}
	return dir
}

// realRecord is one audit record as its source wrote it.
type realRecord struct {
	raw         []byte // verbatim bytes of the JSON object
	where       string // file:line or file[index]
	contentType string // the content type it would arrive in
}

// loadRealRecords reads every audit record of the directory's JSON and NDJSON files. What is
// not an audit record is skipped and logged: webhook notifications, listings, subscription
// lists, error captures, and lines that are not valid JSON (documentation samples with a
// literal "...").
func loadRealRecords(t *testing.T, dir string) []realRecord {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	var out []realRecord
	for _, path := range names {
		name := filepath.Base(path)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var recs [][]byte
		var where []string
		switch {
		case strings.HasSuffix(name, ".ndjson"), strings.HasSuffix(name, ".log"):
			for i, line := range bytes.Split(data, []byte("\n")) {
				line = bytes.TrimRight(line, "\r")
				if len(bytes.TrimSpace(line)) == 0 {
					continue
				}
				if !json.Valid(line) {
					t.Logf("skipped %s:%d: not valid JSON", name, i+1)
					continue
				}
				recs, where = append(recs, line), append(where, fmt.Sprintf("%s:%d", name, i+1))
			}
		case strings.HasSuffix(name, "rules-derived.json"):
			// A mock server's rules: the blob bodies it serves are records.
			var rules []struct {
				Path string `json:"path"`
				Body string `json:"body_template_verbatim"`
			}
			if err := json.Unmarshal(data, &rules); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, r := range rules {
				if !strings.Contains(r.Path, "/activity/feed/audit/") {
					continue
				}
				body := strings.TrimSpace(r.Body)
				if i := strings.Index(body, "`"); strings.HasPrefix(body, "{{") && i >= 0 {
					body = strings.TrimSpace(body[i+1 : strings.LastIndex(body, "`")]) // {{ minify_json `...` }}
				}
				elems, ok := arrayOfRecords([]byte(body))
				if !ok {
					t.Logf("skipped the body of %s in %s: not an array of audit records", r.Path, name)
					continue
				}
				for i, e := range elems {
					recs, where = append(recs, e), append(where, fmt.Sprintf("%s %s[%d]", name, r.Path, i))
				}
			}
		case strings.HasSuffix(name, ".json"):
			elems, ok := arrayOfRecords(data)
			if !ok {
				t.Logf("skipped %s: not an array of audit records (notifications, a listing, an error capture)", name)
				continue
			}
			for i, e := range elems {
				recs, where = append(recs, e), append(where, fmt.Sprintf("%s[%d]", name, i))
			}
		default:
			continue // SOURCES.md, the index
		}
		types := indexTypes(t, path)
		for i, raw := range recs {
			ct := types[i+1]
			if ct == "" {
				ct = likelyContentType(t, raw)
			}
			out = append(out, realRecord{raw: raw, where: where[i], contentType: ct})
		}
	}
	return out
}

// arrayOfRecords splits a JSON array into its elements, verbatim; ok only when every element
// is an object with an Id and a CreationTime.
func arrayOfRecords(data []byte) ([][]byte, bool) {
	var elems []json.RawMessage
	if json.Unmarshal(data, &elems) != nil || len(elems) == 0 {
		return nil, false
	}
	out := make([][]byte, len(elems))
	for i, e := range elems {
		var probe struct {
			ID           *json.RawMessage `json:"Id"`
			CreationTime *json.RawMessage `json:"CreationTime"`
		}
		if json.Unmarshal(e, &probe) != nil || probe.ID == nil || probe.CreationTime == nil {
			return nil, false
		}
		out[i] = e
	}
	return out, true
}

// indexTypes reads the likely content type of each line from a file's .index.tsv, if any.
func indexTypes(t *testing.T, path string) map[int]string {
	t.Helper()
	out := map[int]string{}
	f, err := os.Open(strings.TrimSuffix(path, filepath.Ext(path)) + ".index.tsv")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var col = -1
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "\t")
		if col < 0 {
			for i, c := range cells {
				if c == "likely_content_type" {
					col = i
				}
			}
			continue
		}
		var line int
		if _, err := fmt.Sscan(cells[0], &line); err == nil && col < len(cells) {
			out[line] = cells[col]
		}
	}
	return out
}

// likelyContentType is the heuristic of SOURCES.md: RecordType 11/13/33 → DLP.All; Workload
// AzureActiveDirectory → Audit.AzureActiveDirectory; Exchange with RecordType 1/2/3/19/50 →
// Audit.Exchange; SharePoint/OneDrive → Audit.SharePoint; everything else → Audit.General.
func likelyContentType(t *testing.T, raw []byte) string {
	t.Helper()
	var r struct {
		RecordType json.Number
		Workload   string
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&r); err != nil {
		t.Fatalf("record %s: %v", raw, err)
	}
	switch rt := r.RecordType.String(); {
	case rt == "11" || rt == "13" || rt == "33":
		return "DLP.All"
	case r.Workload == "AzureActiveDirectory":
		return "Audit.AzureActiveDirectory"
	case r.Workload == "Exchange" && (rt == "1" || rt == "2" || rt == "3" || rt == "19" || rt == "50"):
		return "Audit.Exchange"
	case r.Workload == "SharePoint" || r.Workload == "OneDrive":
		return "Audit.SharePoint"
	}
	return "Audit.General"
}

// TestRealRecordsEndToEnd serves every real record, verbatim, a few per blob, through the
// emulator, fetches them with the tool and checks every output line field by field against
// its source: each field's JSON exactly as the source wrote it (numbers as written, string
// escapes such as \u00e9 and \/, JSON inside strings, \r\n inside values), nothing dropped or
// added but the five listing fields.
//
// Record dedup is off: some sources repeat an Id with different content (Elastic's synthetic
// ip-formats records all share one), and this test is about every record's bytes, not about
// dropping repeats (tested elsewhere).
func TestRealRecordsEndToEnd(t *testing.T) {
	records := loadRealRecords(t, realworldDir(t))
	if len(records) == 0 {
		t.Fatal("no records found in the real-world directory")
	}
	h := newHarness(t, setup{emu: emulator.Config{Seed: 36}, fetch: "recordDedupHorizon = 0"})
	now := h.clock.Now()

	const perBlob = 3
	byType := map[string][]realRecord{}
	for _, r := range records {
		byType[r.contentType] = append(byType[r.contentType], r)
	}
	type served struct {
		blob emulator.Blob
		recs []realRecord
	}
	blobs := map[string]served{} // by contentId
	n := 0
	for _, ct := range emulator.ContentTypes {
		recs := byType[ct]
		if len(recs) == 0 {
			t.Errorf("no real record of %s", ct)
		}
		t.Logf("%s: %d records", ct, len(recs))
		for i := 0; i < len(recs); i += perBlob {
			chunk := recs[i:min(i+perBlob, len(recs))]
			body := []byte("[")
			for j, r := range chunk {
				if j > 0 {
					body = append(body, ',')
				}
				body = append(body, r.raw...)
			}
			body = append(body, ']')
			n++
			b := h.srv.AddBlob(emulator.BlobSpec{ContentType: ct, Created: now.Add(-time.Duration(n) * 7 * time.Minute), Body: body})
			blobs[b.ContentID] = served{blob: b, recs: chunk}
		}
	}
	h.mustRun(0)

	lines := 0
	for _, ct := range emulator.ContentTypes {
		data, err := os.ReadFile(filepath.Join(h.out, ct+".log"))
		if err != nil {
			t.Fatal(err)
		}
		next := map[string]int{} // per blob: index of the record the next line must be
		for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			lines++
			var got map[string]json.RawMessage
			if err := json.Unmarshal(line, &got); err != nil {
				t.Fatalf("%s line %d: %v", ct, i+1, err)
			}
			var id string
			_ = json.Unmarshal(got["contentId"], &id)
			s, ok := blobs[id]
			if !ok || next[id] >= len(s.recs) {
				t.Fatalf("%s line %d: contentId %q: no such blob, or more lines than it has records", ct, i+1, id)
			}
			src := s.recs[next[id]]
			next[id]++
			compareRecord(t, fmt.Sprintf("%s line %d (%s)", ct, i+1, src.where), src.raw, got, s.blob)
		}
		for id, s := range blobs {
			if s.blob.ContentType == ct && next[id] != len(s.recs) {
				t.Errorf("blob %s: %d of %d records written", id, next[id], len(s.recs))
			}
		}
	}
	if lines != len(records) {
		t.Errorf("%d lines written, want one per record: %d", lines, len(records))
	}
	t.Logf("%d real records in %d blobs checked field by field", len(records), len(blobs))
}

// compareRecord checks one output line against its source record and blob.
func compareRecord(t *testing.T, where string, raw []byte, got map[string]json.RawMessage, b emulator.Blob) {
	t.Helper()
	var src map[string]json.RawMessage
	if err := json.Unmarshal(raw, &src); err != nil {
		t.Fatalf("%s: source: %v", where, err)
	}
	meta := map[string]string{
		"contentUri": b.ContentURI, "contentId": b.ContentID, "contentType": b.ContentType,
		"contentCreated": b.Created.Format("2006-01-02T15:04:05.000Z"), "contentExpiration": b.Expiration.Format("2006-01-02T15:04:05.000Z"),
	}
	for k, v := range src {
		if _, isMeta := meta[k]; isMeta {
			continue // the listing's field wins, as documented
		}
		var want bytes.Buffer
		if err := json.Compact(&want, v); err != nil {
			t.Fatalf("%s: field %s: %v", where, k, err)
		}
		if g, ok := got[k]; !ok {
			t.Errorf("%s: field %s missing", where, k)
		} else if !bytes.Equal(g, want.Bytes()) {
			t.Errorf("%s: field %s\n got %s\nwant %s", where, k, g, want.Bytes())
		}
	}
	for k := range got {
		if _, ok := src[k]; !ok && meta[k] == "" {
			t.Errorf("%s: field %s added", where, k)
		}
	}
	for k, want := range meta {
		var v string
		if err := json.Unmarshal(got[k], &v); err != nil || v != want {
			t.Errorf("%s: %s = %s, want %q", where, k, got[k], want)
		}
	}
}
