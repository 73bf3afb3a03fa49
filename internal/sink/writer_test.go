package sink

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func openWriter(t *testing.T, dir, name string) *Writer {
	t.Helper()
	w, err := Open(dir, name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func TestOpenRefusesBadNames(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", ".", "..", "a/b", "/etc/passwd", `a\b`, `..\x`, "../x", "a\x00b"} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			w, err := Open(dir, name)
			if err == nil {
				_ = w.Close()
				t.Fatalf("Open(%q) succeeded, want refusal", name)
			}
			if !strings.Contains(err.Error(), "output name") {
				t.Errorf("error %q does not say the name is wrong", err)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("refused names created files: %v", entries)
	}
}

func TestOpenAcceptsContentTypes(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"Audit.Exchange", "DLP.All", "Audit.AzureActiveDirectory"} {
		t.Run(name, func(t *testing.T) {
			w := openWriter(t, dir, name)
			if got, want := w.Path(), filepath.Join(dir, name+".log"); got != want {
				t.Errorf("Path() = %q, want %q", got, want)
			}
			if _, err := os.Stat(w.Path()); err != nil {
				t.Errorf("file not created: %v", err)
			}
		})
	}
}

func TestOpenRepairsPartialLine(t *testing.T) {
	long := strings.Repeat("x", 3*repairChunk)
	tests := []struct {
		name         string
		content      string
		want         string
		wantRepaired int64
	}{
		{name: "new file", content: "", want: ""},
		{name: "complete lines kept", content: "{\"a\":1}\n{\"b\":2}\n", want: "{\"a\":1}\n{\"b\":2}\n"},
		{name: "partial last line cut", content: "{\"a\":1}\n{\"b\":", want: "{\"a\":1}\n", wantRepaired: 5},
		{name: "no newline at all emptied", content: "{\"a\":", want: "", wantRepaired: 5},
		{name: "partial line longer than a chunk", content: "{\"a\":1}\n" + long, want: "{\"a\":1}\n", wantRepaired: int64(len(long))},
		{name: "long complete file kept", content: long + "\n", want: long + "\n"},
		{name: "newline exactly at chunk boundary", content: strings.Repeat("y", repairChunk-1) + "\n" + long, want: strings.Repeat("y", repairChunk-1) + "\n", wantRepaired: int64(len(long))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "Audit.General.log")
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			w := openWriter(t, dir, "Audit.General")
			if got := w.Repaired(); got != tt.wantRepaired {
				t.Errorf("Repaired() = %d, want %d", got, tt.wantRepaired)
			}
			if got := readFile(t, path); got != tt.want {
				t.Errorf("content after repair = %.40q (len %d), want %.40q (len %d)", got, len(got), tt.want, len(tt.want))
			}
			// The next blob starts on a line of its own.
			if _, err := w.Append(strings.NewReader("{\"c\":3}\n")); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, path); got != tt.want+"{\"c\":3}\n" {
				t.Errorf("content after append = %.40q, want it to end the repaired content with the new line", got)
			}
		})
	}
}

// failingReader yields some bytes, then an error, like a download cut short.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestAppendAllOrNothing(t *testing.T) {
	const existing = "{\"Id\":\"1\"}\n{\"Id\":\"2\"}\n"
	errCut := errors.New("connection reset")
	tests := []struct {
		name    string
		r       func(t *testing.T) io.Reader
		wantErr error
	}{
		{
			name: "reader fails midway",
			r: func(*testing.T) io.Reader {
				return &failingReader{data: []byte("{\"Id\":\"3\"}\n{\"Id\":"), err: errCut}
			},
			wantErr: errCut,
		},
		{
			name:    "reader fails after whole lines",
			r:       func(*testing.T) io.Reader { return &failingReader{data: []byte("{\"Id\":\"3\"}\n"), err: errCut} },
			wantErr: errCut,
		},
		{
			name:    "content without final newline",
			r:       func(*testing.T) io.Reader { return strings.NewReader("{\"Id\":\"3\"}\n{\"Id\":\"4\"}") },
			wantErr: ErrPartialLine,
		},
		{
			name: "spilled spool without final newline",
			r: func(t *testing.T) io.Reader {
				s := NewSpool(t.TempDir(), 4)
				t.Cleanup(func() { _ = s.Close() })
				if _, err := s.Write([]byte("{\"Id\":\"3\"}\n{\"Id\":")); err != nil {
					t.Fatal(err)
				}
				r, err := s.Reader()
				if err != nil {
					t.Fatal(err)
				}
				return r
			},
			wantErr: ErrPartialLine,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w := openWriter(t, dir, "Audit.Exchange")
			if _, err := w.Append(strings.NewReader(existing)); err != nil {
				t.Fatal(err)
			}
			n, err := w.Append(tt.r(t))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Append error = %v, want %v", err, tt.wantErr)
			}
			if n != 0 {
				t.Errorf("Append n = %d on error, want 0", n)
			}
			if got := readFile(t, w.Path()); got != existing {
				t.Errorf("file after failed Append = %q, want %q", got, existing)
			}
			if size, err := w.Size(); err != nil || size != int64(len(existing)) {
				t.Errorf("Size() = %d, %v; want %d", size, err, len(existing))
			}
			// The writer stays usable, and the next blob lands right after the old content.
			if _, err := w.Append(strings.NewReader("{\"Id\":\"5\"}\n")); err != nil {
				t.Fatal(err)
			}
			if got, want := readFile(t, w.Path()), existing+"{\"Id\":\"5\"}\n"; got != want {
				t.Errorf("file after next Append = %q, want %q", got, want)
			}
		})
	}
}

func TestAppendEmptyAndSize(t *testing.T) {
	w := openWriter(t, t.TempDir(), "DLP.All")
	n, err := w.Append(strings.NewReader(""))
	if err != nil || n != 0 {
		t.Fatalf("Append(empty) = %d, %v; want 0, nil", n, err)
	}
	n, err = w.Append(strings.NewReader("a\nb\n"))
	if err != nil || n != 4 {
		t.Fatalf("Append = %d, %v; want 4, nil", n, err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if size, err := w.Size(); err != nil || size != 4 {
		t.Errorf("Size() = %d, %v; want 4", size, err)
	}
}

func TestAppendFollowsExternalTruncation(t *testing.T) {
	// copytruncate-style rotation empties the file under a running writer:
	// the next blob must start at the new end, not leave a hole of zeros.
	w := openWriter(t, t.TempDir(), "Audit.SharePoint")
	if _, err := w.Append(strings.NewReader("old line\n")); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(w.Path(), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(strings.NewReader("new line\n")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, w.Path()); got != "new line\n" {
		t.Errorf("content = %q, want %q", got, "new line\n")
	}
}

func TestClosedWriter(t *testing.T) {
	w, err := Open(t.TempDir(), "Audit.General")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if _, err := w.Append(strings.NewReader("x\n")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Append after Close = %v, want os.ErrClosed", err)
	}
	if err := w.Sync(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Sync after Close = %v, want os.ErrClosed", err)
	}
	if _, err := w.Size(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Size after Close = %v, want os.ErrClosed", err)
	}
}

func TestConcurrentAppendsDoNotInterleave(t *testing.T) {
	const (
		workers = 8
		blobs   = 40
	)
	dir := t.TempDir()
	w := openWriter(t, dir, "Audit.Exchange")

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half the workers spill to disk, so both copy paths race.
			sp := NewSpool(t.TempDir(), []int{1 << 20, 16}[g%2])
			defer sp.Close()
			for b := range blobs {
				if err := sp.Reset(); err != nil {
					errs <- err
					return
				}
				lines := 1 + (g*blobs+b)%50
				for l := range lines {
					fmt.Fprintf(sp, "{\"blob\":\"g%d-b%d\",\"line\":%d,\"pad\":%q}\n", g, b, l, strings.Repeat("p", l*7))
				}
				r, err := sp.Reader()
				if err != nil {
					errs <- err
					return
				}
				if _, err := w.Append(r); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	f, err := os.Open(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	seen := map[string]bool{}
	current, next := "", 0
	for sc.Scan() {
		var blob string
		var line int
		if _, err := fmt.Sscanf(sc.Text(), "{\"blob\":%q,\"line\":%d,", &blob, &line); err != nil {
			t.Fatalf("garbled line %q: %v", sc.Text(), err)
		}
		if blob != current {
			if current != "" && next != 0 {
				t.Fatalf("blob %s interrupted by %s", current, blob)
			}
			if seen[blob] {
				t.Fatalf("blob %s appears in two places", blob)
			}
			seen[blob] = true
			current, next = blob, 0
		}
		if line != next {
			t.Fatalf("blob %s: line %d where %d expected", blob, line, next)
		}
		next++
		var g, b int
		if _, err := fmt.Sscanf(blob, "g%d-b%d", &g, &b); err != nil {
			t.Fatal(err)
		}
		if next == 1+(g*blobs+b)%50 {
			next = 0 // blob complete
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if next != 0 {
		t.Errorf("last blob %s incomplete", current)
	}
	if len(seen) != workers*blobs {
		t.Errorf("found %d blobs, want %d", len(seen), workers*blobs)
	}
}

func TestSpoolRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		memLimit  int
		writes    []string
		wantSpill bool
	}{
		{name: "in memory", memLimit: 1 << 10, writes: []string{"a\n", "bb\n", "ccc\n"}},
		{name: "exactly at the limit stays in memory", memLimit: 9, writes: []string{"a\n", "bb\n", "ccc\n"}},
		{name: "spills past the limit", memLimit: 8, writes: []string{"a\n", "bb\n", "ccc\n"}, wantSpill: true},
		{name: "zero limit spills at once", memLimit: 0, writes: []string{"a\n"}, wantSpill: true},
		{name: "negative limit spills at once", memLimit: -1, writes: []string{"a\n"}, wantSpill: true},
		{name: "empty", memLimit: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := NewSpool(dir, tt.memLimit)
			defer s.Close()
			want := ""
			for _, p := range tt.writes {
				n, err := s.Write([]byte(p))
				if err != nil || n != len(p) {
					t.Fatalf("Write(%q) = %d, %v", p, n, err)
				}
				want += p
			}
			if got := s.Len(); got != int64(len(want)) {
				t.Errorf("Len() = %d, want %d", got, len(want))
			}
			entries, _ := os.ReadDir(dir)
			if spilled := len(entries) == 1; spilled != tt.wantSpill {
				t.Errorf("temp files = %d, want spilled=%v", len(entries), tt.wantSpill)
			}
			for range 2 { // Reader rewinds: reading twice gives the same bytes
				r, err := s.Reader()
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != want {
					t.Errorf("read back %q, want %q", got, want)
				}
			}
		})
	}
}

func TestSpoolWriteAfterReader(t *testing.T) {
	for _, memLimit := range []int{1 << 10, 2} {
		t.Run(fmt.Sprintf("memLimit %d", memLimit), func(t *testing.T) {
			s := NewSpool(t.TempDir(), memLimit)
			defer s.Close()
			fmt.Fprint(s, "one\n")
			r, err := s.Reader()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadAll(r); err != nil {
				t.Fatal(err)
			}
			fmt.Fprint(s, "two\n")
			r, err = s.Reader()
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			if string(got) != "one\ntwo\n" {
				t.Errorf("read back %q, want %q", got, "one\ntwo\n")
			}
		})
	}
}

func TestSpoolResetReusesTempFile(t *testing.T) {
	dir := t.TempDir()
	s := NewSpool(dir, 4)
	fmt.Fprint(s, "a long first blob\n")
	first, _ := os.ReadDir(dir)
	if len(first) != 1 {
		t.Fatalf("temp files after spill = %d, want 1", len(first))
	}
	for i, blob := range []string{"x\n", "second spilled blob\n", "y\n"} {
		if err := s.Reset(); err != nil {
			t.Fatal(err)
		}
		if s.Len() != 0 {
			t.Fatalf("Len() after Reset = %d, want 0", s.Len())
		}
		fmt.Fprint(s, blob)
		r, err := s.Reader()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		if string(got) != blob {
			t.Errorf("blob %d read back %q, want %q", i, got, blob)
		}
		now, _ := os.ReadDir(dir)
		if len(now) != 1 || now[0].Name() != first[0].Name() {
			t.Errorf("blob %d: temp files %v, want only %s reused", i, now, first[0].Name())
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("temp files left after Close: %v", left)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if _, err := s.Write([]byte("z\n")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v, want os.ErrClosed", err)
	}
	if _, err := s.Reader(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Reader after Close = %v, want os.ErrClosed", err)
	}
}

func TestSpoolToWriter(t *testing.T) {
	// A spilled blob larger than any buffer goes through intact.
	dir := t.TempDir()
	w := openWriter(t, dir, "Audit.General")
	s := NewSpool(dir, 1<<10)
	defer s.Close()
	var want bytes.Buffer
	for i := range 20000 {
		line := fmt.Sprintf("{\"Id\":\"%06d\",\"Text\":\"é✓\"}\n", i)
		want.WriteString(line)
		if _, err := s.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := s.Reader()
	if err != nil {
		t.Fatal(err)
	}
	n, err := w.Append(r)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(want.Len()) {
		t.Errorf("Append n = %d, want %d", n, want.Len())
	}
	if got := readFile(t, w.Path()); got != want.String() {
		t.Errorf("file differs from spooled content (len %d vs %d)", len(got), want.Len())
	}
}

// After a failed fsync the writer refuses all further work: what reached the disk is unknown,
// and Linux reports a lost write-back only once.
func TestFailedSyncIsPermanent(t *testing.T) {
	w, err := Open(t.TempDir(), "Audit.Exchange")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(strings.NewReader("{\"Id\":\"a\"}\n")); err != nil {
		t.Fatal(err)
	}
	w.f.Close() // the next fsync fails, as it would after an I/O error
	if err := w.Sync(); err == nil {
		t.Fatal("sync of a closed file succeeded")
	}
	if _, err := w.Append(strings.NewReader("{\"Id\":\"b\"}\n")); err == nil || !strings.Contains(err.Error(), "earlier failure") {
		t.Errorf("append after a failed sync: %v, want refused", err)
	}
	if err := w.Sync(); err == nil {
		t.Error("a second sync after a failed one succeeded")
	}
}
