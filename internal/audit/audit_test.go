package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/activity"
	"github.com/o365logfetch/o365logfetch/internal/dedup"
	"github.com/o365logfetch/o365logfetch/internal/state"
	"github.com/o365logfetch/o365logfetch/internal/window"
)

// tenant is an in-memory Activity API: blobs by type, listed by contentCreated in a window.
// Windows longer than refuseOver are refused with AF20055, as the live service sometimes does.
type tenant struct {
	blobs      map[string][]activity.Content
	records    map[string][]string // contentId → record Ids (Download)
	refuseOver time.Duration
	lists      []window.Window
}

func (f *tenant) List(_ context.Context, ct string, w window.Window, fn func([]activity.Content) error) error {
	f.lists = append(f.lists, w)
	if f.refuseOver > 0 && w.Duration() > f.refuseOver {
		return &activity.APIError{Op: "list", Status: 400, Code: activity.CodeBadWindow}
	}
	var page []activity.Content
	for _, c := range f.blobs[ct] {
		if t := c.Created(); !t.Before(w.Start) && t.Before(w.End) {
			page = append(page, c)
		}
	}
	// Twice, as a listing that starts over would: each blob must count once.
	if err := fn(page); err != nil {
		return err
	}
	return fn(page)
}

func (f *tenant) Download(_ context.Context, c activity.Content, fn func(io.Reader) error) error {
	var recs []string
	for _, id := range f.records[c.ContentID] {
		recs = append(recs, fmt.Sprintf(`{"Id":%q}`, id))
	}
	return fn(strings.NewReader("[" + strings.Join(recs, ",") + "]"))
}

// ledger is the blob ledger: contentId → hour written.
type ledger map[dedup.Key]time.Time

func (l ledger) WrittenAt(k dedup.Key) (time.Time, bool) { t, ok := l[k]; return t, ok }

type progress map[string]state.Type

func (p progress) Type(ct string) state.Type { return p[ct] }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func blobAt(id string, created time.Time) activity.Content {
	return activity.Content{ContentType: "Audit.Exchange", ContentID: id, ContentURI: "https://x/" + id,
		ContentCreated: created.Format("2006-01-02T15:04:05.000Z")}
}

func TestRunClassifiesEveryBlob(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 28, h, m, 0, 0, time.UTC) }
	api := &tenant{refuseOver: 6 * time.Hour, blobs: map[string][]activity.Content{"Audit.Exchange": {
		blobAt("w1", at(1, 10)), blobAt("m1", at(3, 5)), blobAt("m2", at(3, 50)), blobAt("m3", at(4, 20)),
		blobAt("w2", at(6, 0)), blobAt("m4", at(9, 30)), blobAt("p1", at(10, 0)),
		blobAt("ahead", now.Add(-30*time.Minute)),
	}}}
	written := ledger{dedup.KeyOf("w1"): at(2, 0), dedup.KeyOf("w2"): at(7, 0)}
	prog := progress{"Audit.Exchange": {End: now.Add(-10 * time.Minute), Pending: map[string]state.Pending{
		"p1": {ContentCreated: at(10, 0).Format(time.RFC3339)},
		// Failed, expired since, and no longer listed: lost.
		"gone": {ContentCreated: now.Add(-8 * 24 * time.Hour).Format(time.RFC3339), ContentExpiration: now.Add(-24 * time.Hour).Format(time.RFC3339)},
	}}}
	res, err := Run(context.Background(), Options{API: api, Ledger: written, Progress: prog, Types: []string{"Audit.Exchange"},
		Start: now.Add(-8 * 24 * time.Hour), End: now, Overlap: time.Hour, Now: func() time.Time { return now }, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	tr := res.Types[0]
	if tr.Listed != 8 || tr.Written != 2 || tr.Missing != 4 || tr.Pending != 1 || tr.Ahead != 1 || tr.Lost != 0 {
		t.Errorf("counts %+v", tr)
	}
	if res.Unreachable == nil || !res.Start.Equal(window.Earliest(now)) {
		t.Errorf("period before the 7-day edge not reported: start %s, unreachable %v", res.Start, res.Unreachable)
	}
	// 03:00–05:00 (m1, m2, m3) and 09:00–10:00 (m4).
	want := []Gap{{Start: at(3, 0), End: at(5, 0), Blobs: 3, IDs: []string{"m1", "m2", "m3"}}, {Start: at(9, 0), End: at(10, 0), Blobs: 1, IDs: []string{"m4"}}}
	if fmt.Sprint(tr.Gaps) != fmt.Sprint(want) {
		t.Errorf("gaps %v, want %v", tr.Gaps, want)
	}
	if rw := res.RepairWindows(); len(rw) != 2 || !rw[0].Start.Equal(at(3, 0)) || !rw[1].End.Equal(at(11, 0)) {
		t.Errorf("repair windows %+v, want 03:00–05:00 and 09:00–11:00 (the pending blob's hour joins)", rw)
	}
	for _, w := range api.lists {
		if w.Duration() > window.MaxSpan {
			t.Errorf("listed a %s window", w.Duration())
		}
	}
	var text bytes.Buffer
	if err := res.Text(&text, false, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "Audit.Exchange 2026-11-28 03:00–05:00 UTC: 3 blobs missing") || strings.Contains(text.String(), "m1") {
		t.Errorf("text report:\n%s", text.String())
	}
	var js bytes.Buffer
	if err := res.WriteJSON(&js, true, nil); err != nil {
		t.Fatal(err)
	}
	var j JSON
	if err := json.Unmarshal(js.Bytes(), &j); err != nil || j.Complete || j.Total.Missing != 4 || len(j.Types[0].Gaps[0].IDs) != 3 {
		t.Errorf("json report (%v):\n%s", err, js.String())
	}
	if m := string(res.Metrics(now)); !strings.Contains(m, `o365logfetch_audit_missing_blobs{content_type="Audit.Exchange"} 4`) {
		t.Errorf("metrics:\n%s", m)
	}
	if !res.Incomplete() {
		t.Error("missing blobs, yet complete")
	}
}

func TestPendingExpiredIsLost(t *testing.T) {
	created := now.Add(-7*24*time.Hour + time.Hour)
	api := &tenant{blobs: map[string][]activity.Content{"Audit.Exchange": {blobAt("p", created)}}}
	prog := progress{"Audit.Exchange": {Pending: map[string]state.Pending{"p": {ContentCreated: created.Format(time.RFC3339),
		ContentExpiration: now.Add(-time.Minute).Format(time.RFC3339)}}}}
	res, err := Run(context.Background(), Options{API: api, Ledger: ledger{}, Progress: prog, Types: []string{"Audit.Exchange"},
		Start: now.Add(-7 * 24 * time.Hour), Now: func() time.Time { return now }, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if tr := res.Types[0]; tr.Lost != 1 || tr.Pending != 0 || tr.Missing != 0 || len(tr.Repair) != 0 {
		t.Errorf("expired pending blob: %+v", tr)
	}
}

// A listing the API refuses outright is the type's problem: reported as not audited, and the
// audit is not complete; other types go on.
func TestUnlistedPeriodIsNotComplete(t *testing.T) {
	api := &tenant{refuseOver: time.Minute}
	res, err := Run(context.Background(), Options{API: api, Ledger: ledger{}, Progress: progress{},
		Types: []string{"Audit.Exchange", "DLP.All"}, Start: now.Add(-time.Hour), Now: func() time.Time { return now }, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Types) != 2 || res.Types[0].Unlisted == nil || res.Types[1].Unlisted == nil || !res.Incomplete() {
		t.Errorf("refused listings: %+v", res.Types)
	}
}

// The output check: blobs written before the first line of the oldest file kept were in files
// rotated away (named, not gaps); a blob written after it without lines is a gap; a blob whose
// records all have lines under another blob is whole.
func TestScanOutputRotatedAway(t *testing.T) {
	dir := t.TempDir()
	h := func(n int) time.Time { return time.Date(2026, 11, 29, n, 0, 0, 0, time.UTC) }
	line := func(id, rec string) string {
		return fmt.Sprintf(`{"Id":%q,"contentUri":"u","contentId":%q,"contentType":"Audit.Exchange"}`+"\n", rec, id)
	}
	os.WriteFile(filepath.Join(dir, "Audit.Exchange.log.1"), []byte(line("b3", "r3")+line("b4", "r4")), 0o600)
	os.WriteFile(filepath.Join(dir, "Audit.Exchange.log"), []byte(line("b6", "r6")), 0o600)
	l := ledger{}
	want := map[dedup.Key]writtenBlob{}
	for i, id := range []string{"b1", "b2", "b3", "b4", "b5", "b6", "dup"} {
		l[dedup.KeyOf(id)] = h(i + 1)
		want[dedup.KeyOf(id)] = writtenBlob{c: blobAt(id, h(i)), hour: h(i)}
	}
	api := &tenant{records: map[string][]string{"dup": {"r3", "r6"}, "b5": {"r5"}, "b1": {"r1"}, "b2": {"r2"}}}
	s, err := scanOutput(context.Background(), api, l, dir, "Audit.Exchange", want)
	if err != nil {
		t.Fatal(err)
	}
	// b1, b2: written before b3, the first line kept: rotated away. b5: a gap. dup: whole.
	if s.Unverified != 2 || s.Absent != 1 || len(s.AbsentGaps) != 1 || s.AbsentGaps[0].IDs[0] != "b5" || len(s.Checked) != 2 {
		t.Errorf("scan %+v", s)
	}
}

func TestLineContentID(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`{"Id":"1","contentId":"inner","contentUri":"u","contentId":"abc","contentType":"T"}`, "abc"},
		{`{"Id":"1","contentUri":"u","contentId":"a\"b","contentType":"T"}`, `a"b`},
		{`{"Id":"1"}`, ""},
		{`{"Id":"1","contentId":"unterminated`, ""},
	} {
		if got, _ := lineContentID([]byte(tc.line)); got != tc.want {
			t.Errorf("lineContentID(%s) = %q, want %q", tc.line, got, tc.want)
		}
	}
}
