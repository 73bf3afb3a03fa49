package fetch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/layout"

	"github.com/o365logfetch/o365logfetch/internal/activity"
	"github.com/o365logfetch/o365logfetch/internal/dedup"
	"github.com/o365logfetch/o365logfetch/internal/state"
	"github.com/o365logfetch/o365logfetch/internal/window"
)

// apiTime is the API's timestamp format.
const apiTime = "2006-01-02T15:04:05.000Z"

// fakeBlob is one blob of the fake API.
type fakeBlob struct {
	id      string
	created time.Time
	records []string // record Ids
}

// fakeAPI is a small Activity API in memory that behaves as the service does: it lists a
// type's blobs that became available in a window, in order and page by page; it serves their
// bodies; it refuses windows longer than it accepts, and fails what a test tells it to.
type fakeAPI struct {
	mu        sync.Mutex
	subs      map[string]string // content type → status; a type missing has no subscription
	blobs     map[string][]fakeBlob
	pageSize  int
	maxWindow time.Duration                      // longer windows are refused (AF20055); 0: none
	failList  func(window.Window) error          // the answer to listing a window, nil: none
	failBlob  map[string]error                   // contentId → the answer to each download
	edit      map[string]func(*activity.Content) // contentId → how its listing entry is bent
	started   []string                           // subscriptions started
	listed    []window.Window                    // windows listed successfully
	downloads map[string]int                     // contentId → downloads
}

func newFakeAPI(types ...string) *fakeAPI {
	a := &fakeAPI{subs: map[string]string{}, blobs: map[string][]fakeBlob{}, pageSize: 2,
		failBlob: map[string]error{}, downloads: map[string]int{}}
	for _, ct := range types {
		a.subs[ct] = "enabled"
	}
	return a
}

// add publishes a blob of n records (Ids id-0, id-1, ...) that became available at created.
func (a *fakeAPI) add(ct, id string, created time.Time, n int) fakeBlob {
	b := fakeBlob{id: id, created: created}
	for i := range n {
		b.records = append(b.records, fmt.Sprintf("%s-%d", id, i))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.blobs[ct] = append(a.blobs[ct], b)
	sort.Slice(a.blobs[ct], func(i, j int) bool { return a.blobs[ct][i].created.Before(a.blobs[ct][j].created) })
	return b
}

func (b fakeBlob) content(ct string) activity.Content {
	return activity.Content{ContentType: ct, ContentID: b.id, ContentURI: "https://api.example/blob/" + b.id,
		ContentCreated: b.created.UTC().Format(apiTime), ContentExpiration: b.created.Add(window.Retention).UTC().Format(apiTime)}
}

func (a *fakeAPI) Subscriptions(context.Context) ([]activity.Subscription, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var subs []activity.Subscription
	for ct, st := range a.subs {
		subs = append(subs, activity.Subscription{ContentType: ct, Status: st})
	}
	return subs, nil
}

func (a *fakeAPI) Start(_ context.Context, ct string) (activity.Subscription, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.subs[ct] = "enabled"
	a.started = append(a.started, ct)
	return activity.Subscription{ContentType: ct, Status: "enabled"}, nil
}

func (a *fakeAPI) List(ctx context.Context, ct string, w window.Window, page func([]activity.Content) error) error {
	a.mu.Lock()
	var err error
	if a.maxWindow > 0 && w.Duration() > a.maxWindow {
		err = &activity.APIError{Op: "list " + ct, Status: 400, Code: activity.CodeBadWindow, Message: "start/end time invalid"}
	} else if a.failList != nil {
		err = a.failList(w)
	}
	var in []activity.Content
	for _, b := range a.blobs[ct] {
		if !b.created.Before(w.Start) && b.created.Before(w.End) {
			c := b.content(ct)
			if edit := a.edit[b.id]; edit != nil {
				edit(&c)
			}
			in = append(in, c)
		}
	}
	if err == nil {
		a.listed = append(a.listed, w)
	}
	a.mu.Unlock()
	if err != nil {
		return err
	}
	for len(in) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(a.pageSize, len(in))
		if err := page(in[:n]); err != nil {
			return err
		}
		in = in[n:]
	}
	return nil
}

func (a *fakeAPI) Download(ctx context.Context, c activity.Content, read func(io.Reader) error) error {
	a.mu.Lock()
	a.downloads[c.ContentID]++
	err := a.failBlob[c.ContentID]
	var body []byte
	for _, bs := range a.blobs {
		for _, b := range bs {
			if b.id == c.ContentID {
				var recs []string
				for _, id := range b.records {
					recs = append(recs, fmt.Sprintf(`{"Id":%q,"Operation":"Test"}`, id))
				}
				body = []byte("[" + strings.Join(recs, ",") + "]")
			}
		}
	}
	a.mu.Unlock()
	if err != nil {
		return err
	}
	if body == nil {
		return &activity.APIError{Op: "download " + c.ContentID, Status: 404, Code: activity.CodeContentUnknown, Message: "content not found"}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return read(bytes.NewReader(body))
}

// world is a run's surroundings: the fake API, the state and output directories on disk, and
// the clock.
type world struct {
	t     *testing.T
	api   *fakeAPI
	out   string
	state string
	now   time.Time
	log   bytes.Buffer
}

func newWorld(t *testing.T, types ...string) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{t: t, api: newFakeAPI(types...), out: filepath.Join(dir, "out"), state: filepath.Join(dir, "state"),
		now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	if err := os.Mkdir(w.out, 0o700); err != nil { // the command line makes it
		t.Fatal(err)
	}
	return w
}

// options are the options of a run at w.now, with the store given.
func (w *world) options(store Store, types ...string) Options {
	return Options{API: w.api, Store: store, OutDir: w.out, SpoolDir: w.state, Types: types, Workers: 3,
		InitialLookback: 6 * time.Hour, Overlap: 30 * time.Minute, SpoolMem: 64,
		Now: func() time.Time { return w.now }, Log: slog.New(slog.NewTextHandler(&w.log, nil))}
}

// open opens the state as the command line does, for one run.
func (w *world) open() *state.Store {
	w.t.Helper()
	s, err := state.Open(w.state)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// run runs the types at w.now, with opts changing the options first.
func (w *world) run(opts func(*Options), types ...string) (*Result, error) {
	w.t.Helper()
	o := w.options(w.open(), types...)
	if opts != nil {
		opts(&o)
	}
	return Run(context.Background(), o)
}

// saved is a type's saved progress as the next run reads it.
func (w *world) saved(ct string) state.Type {
	w.t.Helper()
	return w.open().Type(ct)
}

// ids are the record Ids of a type's output file in order; every line must be whole JSON.
func (w *world) ids(ct string) []string {
	w.t.Helper()
	f, err := os.Open(filepath.Join(w.out, ct+".log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec struct {
			ID          string `json:"Id"`
			ContentID   string `json:"contentId"`
			ContentType string `json:"contentType"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.ContentID == "" || rec.ContentType != ct {
			w.t.Fatalf("%s: bad line %q: %v", ct, sc.Text(), err)
		}
		ids = append(ids, rec.ID)
	}
	if err := sc.Err(); err != nil {
		w.t.Fatal(err)
	}
	return ids
}

// records lists the record Ids of blobs, in order.
func records(blobs ...fakeBlob) []string {
	var ids []string
	for _, b := range blobs {
		ids = append(ids, b.records...)
	}
	return ids
}

// orderStore is the real store, checking at every save that what the save claims is durable
// before it: the output file holds the size the state records, and the blob ledger on disk
// knows every blob whose lines lie within that size.
type orderStore struct {
	*state.Store
	w      *world
	saves  int
	broken []string
}

func (s *orderStore) Update(now time.Time, fn func(*state.State)) error {
	err := s.Store.Update(now, fn)
	snap := s.Snapshot()
	s.saves++
	ledger, lerr := dedup.OpenFile(s.w.state, layout.BlobLedger, window.Retention+time.Hour, s.w.now)
	if lerr != nil {
		s.broken = append(s.broken, lerr.Error())
		return err
	}
	defer ledger.Close()
	for name, f := range snap.Files {
		data, rerr := os.ReadFile(filepath.Join(s.w.out, name))
		if rerr != nil || int64(len(data)) < f.Size {
			s.broken = append(s.broken, fmt.Sprintf("save %d: %s records %d bytes, file has %d (%v)", s.saves, name, f.Size, len(data), rerr))
			continue
		}
		for _, line := range bytes.Split(data[:f.Size], []byte("\n")) {
			var rec struct {
				ContentID string `json:"contentId"`
			}
			if len(line) == 0 || json.Unmarshal(line, &rec) != nil {
				continue
			}
			if ledger.Claim(dedup.KeyOf(rec.ContentID), 1) {
				s.broken = append(s.broken, fmt.Sprintf("save %d: %s covers blob %s, which the ledger on disk does not know", s.saves, name, rec.ContentID))
			}
		}
	}
	return err
}
