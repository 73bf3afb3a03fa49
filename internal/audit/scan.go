package audit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/activity"
	"github.com/o365logfetch/o365logfetch/internal/blob"
	"github.com/o365logfetch/o365logfetch/internal/dedup"
)

// Scan is what a check of the output files found for one content type.
type Scan struct {
	Checked    []string // files read: the current one and rotated ones still readable
	NotChecked []string // rotated files that cannot be read here (compressed other than gzip, unreadable)
	// Absent counts the written blobs of the period without a line in the files checked,
	// written after the first line of the oldest file kept: gaps (AbsentGaps). Unverified
	// counts those that may be in a file not checked: one that cannot be read here, or one
	// rotated away (written before the oldest file kept began).
	Absent     int
	AbsentGaps []Gap
	Unverified int
}

// writtenBlob is a blob the ledger says was written, kept for the check of the output files.
type writtenBlob struct {
	c    activity.Content
	hour time.Time
}

// Downloader fetches a blob (activity.Client.Download), to see which records a blob without
// a line of its own holds.
type Downloader interface {
	Download(ctx context.Context, c activity.Content, fn func(io.Reader) error) error
}

// scanOutput checks that every written blob in want has its lines in the type's output file
// or the rotated files beside it, reading each file as a stream. A blob can rightly have no
// line under its own contentId: it was empty, or every record of it had been written before
// under another blob (Microsoft delivers a record again by design). Such a blob is downloaded
// again and passes when each of its records has a line by its Id.
func scanOutput(ctx context.Context, dl Downloader, ledger Ledger, dir, name string, want map[dedup.Key]writtenBlob) (*Scan, error) {
	s := &Scan{}
	current := filepath.Join(dir, name+".log")
	files := []string{current}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		// logrotate's names: Audit.Exchange.log.1, .log.2.gz, .log-20261128 (dateext).
		if (strings.HasPrefix(n, name+".log.") || strings.HasPrefix(n, name+".log-")) && e.Type().IsRegular() {
			files = append(files, filepath.Join(dir, n))
		}
	}
	// The files kept hold what was written since the first line of the oldest of them: the
	// hour the ledger gives its blob. What was written before went to files rotated away.
	var since time.Time
	covered := false // a file kept starts before the ledger's memory: nothing was rotated away within it
	blobID := func(line []byte) (string, bool) { return lineContentID(line) }
	for _, f := range files {
		ok, first, err := scanFile(f, want, blobID)
		switch {
		case err != nil && f == current && errors.Is(err, os.ErrNotExist):
			// No output file: nothing of the type was written, or it was rotated away.
		case err != nil:
			return nil, err
		case ok:
			s.Checked = append(s.Checked, f)
			if first == "" {
				break
			}
			if at, known := ledger.WrittenAt(dedup.KeyOf(first)); !known {
				covered = true
			} else if since.IsZero() || at.Before(since) {
				since = at
			}
		default:
			s.NotChecked = append(s.NotChecked, f)
		}
	}
	// Blobs that may be in a file not checked are set aside first: they are not downloaded.
	for k := range want {
		at, _ := ledger.WrittenAt(k)
		if len(s.NotChecked) > 0 || (!covered && (since.IsZero() || at.Before(since))) {
			s.Unverified++ // its lines may be in a file not checked or rotated away
			delete(want, k)
		}
	}
	if len(want) > 0 {
		if err := byRecords(ctx, dl, s.Checked, want); err != nil {
			return nil, err
		}
	}
	absent := hours{}
	for _, b := range want {
		s.Absent++
		absent.add(b.hour, b.c.ContentID)
	}
	if s.Unverified > 0 && len(s.NotChecked) == 0 {
		s.NotChecked = append(s.NotChecked, "files rotated away")
	}
	s.AbsentGaps = absent.gaps()
	return s, nil
}

// byRecords takes out of want every blob whose records all have a line, found by their Ids.
// A blob that cannot be downloaded any more stays: it cannot be shown to be whole.
func byRecords(ctx context.Context, dl Downloader, files []string, want map[dedup.Key]writtenBlob) error {
	records := map[dedup.Key]writtenBlob{} // records without a line yet (the value is unused)
	blobsOf := map[dedup.Key][]dedup.Key{} // record key → the blobs holding it
	for k, b := range want {
		var keys []dedup.Key
		idless := false
		err := dl.Download(ctx, b.c, func(body io.Reader) error {
			keys, idless = keys[:0], false
			dec := json.NewDecoder(body)
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return fmt.Errorf("blob %s is not a JSON array", b.c.ContentID)
			}
			for dec.More() {
				var rec json.RawMessage
				if err := dec.Decode(&rec); err != nil {
					return err
				}
				id, ok := blob.LineID(rec)
				if !ok {
					idless = true // written whatever the record index says: it must have a line
					continue
				}
				keys = append(keys, dedup.KeyOf(id))
			}
			return nil
		})
		if err != nil {
			if activity.Fatal(err) || ctx.Err() != nil {
				return err
			}
			continue
		}
		if idless {
			continue
		}
		for _, rk := range keys {
			records[rk] = b
			blobsOf[rk] = append(blobsOf[rk], k)
		}
		if len(keys) == 0 {
			delete(want, k) // an empty blob writes no line
		}
	}
	if len(records) == 0 {
		return nil
	}
	recordID := blob.LineID
	for _, f := range files {
		if _, _, err := scanFile(f, records, recordID); err != nil {
			return err
		}
	}
	whole := map[dedup.Key]bool{}
	for rk, blobs := range blobsOf {
		for _, k := range blobs {
			if _, ok := whole[k]; !ok {
				whole[k] = true
			}
			if _, unfound := records[rk]; unfound {
				whole[k] = false
			}
		}
	}
	for k, ok := range whole {
		if ok {
			delete(want, k)
		}
	}
	return nil
}

// scanFile removes from want every key that idOf finds in a line of path. It returns false
// for a file it cannot read (compressed in a form other than gzip, or a damaged archive).
func scanFile(path string, want map[dedup.Key]writtenBlob, idOf func([]byte) (string, bool)) (ok bool, first string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, "", err
	}
	defer f.Close()
	var r io.Reader = f
	switch ext := filepath.Ext(path); ext {
	case ".gz":
		zr, err := gzip.NewReader(f)
		if err != nil {
			return false, "", nil
		}
		defer zr.Close()
		r = zr
	case ".bz2", ".xz", ".zst", ".lz4", ".Z", ".zip":
		return false, "", nil
	}
	br := bufio.NewReaderSize(r, 256<<10)
	var long []byte
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, line...)
			continue
		}
		if long != nil {
			line = append(long, line...)
		}
		if len(line) > 0 {
			if id, ok := idOf(line); ok {
				if first == "" {
					first = id
				}
				delete(want, dedup.KeyOf(id))
			}
		}
		long = long[:0:0]
		if err == io.EOF {
			return true, first, nil
		}
		if err != nil {
			if strings.HasSuffix(path, ".gz") {
				return false, "", nil // a damaged or truncated archive: not checked
			}
			return false, "", fmt.Errorf("read %s: %w", path, err)
		}
	}
}

// metaID is how the listing metadata names the blob in every output line. The metadata is the
// end of the line and wins over a record member of the same name, so its last occurrence is it.
var metaID = []byte(`,"contentId":"`)

// lineContentID finds the contentId of an output line.
func lineContentID(line []byte) (string, bool) {
	i := bytes.LastIndex(line, metaID)
	if i < 0 {
		return "", false
	}
	rest := line[i+len(metaID):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	if bytes.IndexByte(rest[:j], '\\') < 0 {
		return string(rest[:j]), true
	}
	// An escaped id (never seen from Microsoft): let encoding/json read the line.
	var meta struct {
		ContentID string `json:"contentId"`
	}
	if json.Unmarshal(line, &meta) != nil || meta.ContentID == "" {
		return "", false
	}
	return meta.ContentID, true
}
