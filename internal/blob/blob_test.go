package blob

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

var meta = Meta{
	ContentURI:        "https://manage.office.com/api/v1.0/t/activity/feed/audit/id1",
	ContentID:         "id1",
	ContentType:       "Audit.Exchange",
	ContentCreated:    "2026-11-26T08:00:00.000Z",
	ContentExpiration: "2026-12-03T08:00:00.000Z",
}

const tail = `"contentUri":"https://manage.office.com/api/v1.0/t/activity/feed/audit/id1","contentId":"id1","contentType":"Audit.Exchange","contentCreated":"2026-11-26T08:00:00.000Z","contentExpiration":"2026-12-03T08:00:00.000Z"}` + "\n"

func TestLines(t *testing.T) {
	tests := []struct {
		name, in, want string
		records        int
	}{
		{"empty array", `[]`, "", 0},
		{"one record kept byte for byte", `[{"Id":"a","N":12345678901234567890,"F":1.50e300,"S":"Zoë \"東京\" \\ \u2028"}]`,
			`{"Id":"a","N":12345678901234567890,"F":1.50e300,"S":"Zoë \"東京\" \\ \u2028",` + tail, 1},
		{"pretty printed input becomes one line", "[\n  {\n    \"Id\": \"a\",\n    \"L\": [1, 2]\n  },\n  {\"Id\":\"b\"}\n]\n",
			`{"Id":"a","L":[1,2],` + tail + `{"Id":"b",` + tail, 2},
		{"empty object", `[{}]`, `{` + tail, 1},
		{"metadata wins on a clash", `[{"Id":"a","contentType":"x","contentId":"y","Other":"contentZ"}]`,
			`{"Id":"a","Other":"contentZ",` + tail, 1},
		{"escaped key clash", `[{"Id":"a","\u0063ontentId":"y"}]`, `{"Id":"a",` + tail, 1},
		{"escapes in values kept", `[{"P":"C:\\dir\u00e9"}]`, `{"P":"C:\\dir\u00e9",` + tail, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			n, err := Lines(strings.NewReader(tt.in), meta, &out)
			if err != nil {
				t.Fatalf("Lines: %v", err)
			}
			if n != tt.records {
				t.Errorf("records = %d, want %d", n, tt.records)
			}
			if out.String() != tt.want {
				t.Errorf("output\n got %q\nwant %q", out.String(), tt.want)
			}
			for _, line := range strings.SplitAfter(out.String(), "\n") {
				if line == "" {
					continue
				}
				if !json.Valid([]byte(line)) {
					t.Errorf("invalid JSON line %q", line)
				}
			}
		})
	}
}

func TestLinesRefusesBadBlobs(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty body", ``},
		{"not an array", `{"Id":"a"}`},
		{"record not an object", `[{"Id":"a"},1]`},
		{"truncated", `[{"Id":"a"},{"Id":"b"`},
		{"garbage after", `[{"Id":"a"}] x`},
		{"invalid utf-8", "[{\"Id\":\"\xff\"}]"},
		{"html page", `<html><body>502 Bad Gateway</body></html>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Lines(strings.NewReader(tt.in), meta, io.Discard)
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("err = %v, want ErrFormat", err)
			}
		})
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestLinesKeepsTransportErrors(t *testing.T) {
	cut := errors.New("connection reset")
	// Cut inside the array, and after it: before its EOF, a body can still break off.
	for _, body := range []string{`[{"Id":"a"},`, `[{"Id":"a"}]`, "[{\"Id\":\"a\"}]\n"} {
		r := io.MultiReader(strings.NewReader(body), failingReader{cut})
		_, err := Lines(r, meta, io.Discard)
		if !errors.Is(err, cut) || errors.Is(err, ErrFormat) {
			t.Errorf("body %q then a read error: err = %v, want the reader's error unmarked", body, err)
		}
	}
}

func FuzzLines(f *testing.F) {
	f.Add([]byte(`[{"Id":"a","contentId":"x"},{}]`))
	f.Add([]byte("[\n{\"A\":[1,{\"b\":null}],\"\\u0063ontentUri\":1}]"))
	f.Add([]byte(`[1]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		n, err := Lines(bytes.NewReader(in), meta, &out)
		lines := strings.SplitAfter(out.String(), "\n")
		complete := 0
		for _, line := range lines {
			if line == "" {
				continue
			}
			if !strings.HasSuffix(line, "\n") {
				t.Fatalf("partial line %q", line)
			}
			var obj map[string]any
			if err := json.Unmarshal([]byte(line), &obj); err != nil {
				t.Fatalf("invalid line %q: %v", line, err)
			}
			if obj["contentId"] != meta.ContentID {
				t.Fatalf("line without metadata: %q", line)
			}
			complete++
		}
		if complete != n {
			t.Fatalf("wrote %d lines, reported %d (err %v)", complete, n, err)
		}
	})
}

func TestLinesLimitRefusesHugeRecords(t *testing.T) {
	big := `{"Id":"big","S":"` + strings.Repeat("x", 300<<10) + `"}`
	in := `[{"Id":"a"},` + big + `]`
	var out bytes.Buffer
	n, err := LinesWith(strings.NewReader(in), meta, &out, Options{MaxRecord: 100 << 10})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "maxRecordBytes") {
		t.Fatalf("err = %v, want a format error naming maxRecordBytes", err)
	}
	if n != 1 || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("records before the huge one: n = %d, lines %q", n, out.String())
	}
	// The limit is exact, whether the record arrives in one read or byte by byte.
	small := `[{"Id":"a","S":"` + strings.Repeat("y", 1000) + `"}]`
	for _, r := range []io.Reader{strings.NewReader(small), iotest.OneByteReader(strings.NewReader(small))} {
		if _, err := LinesWith(r, meta, io.Discard, Options{MaxRecord: len(small) - 3}); !errors.Is(err, ErrFormat) {
			t.Errorf("record 1 byte over the limit: err = %v, want ErrFormat", err)
		}
	}
	if _, err := LinesWith(strings.NewReader(small), meta, io.Discard, Options{MaxRecord: len(small) - 2}); err != nil {
		t.Errorf("record exactly at the limit refused: %v", err)
	}
	// Under the limit, the same record passes.
	if _, err := LinesWith(strings.NewReader(in), meta, io.Discard, Options{MaxRecord: 1 << 20}); err != nil {
		t.Errorf("record under the limit refused: %v", err)
	}
}

func TestLinesKeepDropsRefusedRecords(t *testing.T) {
	compact := `[{"Id":"a","X":1},{"Nested":{"Id":"b"},"Id":"c"},{"Id":"d\u0021"},{"NoId":true},{"Id":5}]`
	spaced := strings.NewReplacer("{", "{\n  ", ",", " ,\n  ", ":", " : ", "}", "\n}").Replace(compact)
	for _, in := range []string{compact, spaced} {
		var asked []string
		var out bytes.Buffer
		n, err := LinesWith(strings.NewReader(in), meta, &out, Options{Keep: func(id []byte) bool {
			asked = append(asked, string(id))
			return string(id) != "c" && string(id) != "d!"
		}})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(asked, ",") != "a,c,d!" {
			t.Errorf("Keep asked about %q, want the top-level string Ids a, c, d! only", asked)
		}
		if n != 3 || strings.Count(out.String(), "\n") != 3 {
			t.Fatalf("n = %d, output:\n%s", n, out.String())
		}
		for _, gone := range []string{`"Id":"c"`, `"Id":"d\u0021"`} {
			if strings.Contains(out.String(), gone) {
				t.Errorf("refused record %s was written", gone)
			}
		}
		if !strings.Contains(out.String(), `{"Id":"a","X":1,"contentUri"`) {
			t.Errorf("record a not compacted as it should be:\n%s", out.String())
		}
	}
}
