package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

// Shaped records are valid JSON with the right Ids, and carry what makes captured records
// expensive to parse: \u escapes, \r\n and JSON inside strings, and a long tail of sizes.
func TestShapedRecords(t *testing.T) {
	e := New(Config{Seed: 3, Now: func() time.Time { return testNow }})
	shape := &RecordShape{}
	var sizes []int
	var escapes, crlf, jsonInString int
	for i, ct := range ContentTypes {
		for j := range 8 {
			b := e.AddBlob(BlobSpec{ContentType: ct, Created: testNow.Add(-time.Duration(i*8+j+1) * time.Minute), Records: 50, Shape: shape})
			raw := body(t, e, b.ContentID)
			var recs []json.RawMessage
			if err := json.Unmarshal(raw, &recs); err != nil {
				t.Fatalf("%s: body is not a JSON array: %v", ct, err)
			}
			if len(recs) != 50 {
				t.Fatalf("%s: %d records, want 50", ct, len(recs))
			}
			for k, r := range recs {
				var rec map[string]any
				if err := json.Unmarshal(r, &rec); err != nil {
					t.Fatalf("%s record %d: %v", ct, k, err)
				}
				if rec["Id"] != b.RecordIDs[k] {
					t.Errorf("%s record %d: Id %v, want %s", ct, k, rec["Id"], b.RecordIDs[k])
				}
				compact := new(bytes.Buffer)
				if err := json.Compact(compact, r); err != nil {
					t.Fatal(err)
				}
				sizes = append(sizes, compact.Len())
				escapes += bytes.Count(r, []byte(`\u`))
				crlf += bytes.Count(r, []byte(`\r\n`))
				jsonInString += bytes.Count(r, []byte(`\"`))
			}
		}
	}
	slices.Sort(sizes)
	median, largest := sizes[len(sizes)/2], sizes[len(sizes)-1]
	t.Logf("%d records: median %d B, largest %d B; per record %.1f \\u, %.1f \\r\\n, %.1f \\\"",
		len(sizes), median, largest, float64(escapes)/float64(len(sizes)), float64(crlf)/float64(len(sizes)), float64(jsonInString)/float64(len(sizes)))
	if median < 900 || median > 2000 {
		t.Errorf("median size %d, want about 1.3 KB", median)
	}
	if largest < 6000 || largest > 18000 {
		t.Errorf("largest %d, want a tail up to about 17 KB", largest)
	}
	if escapes == 0 || crlf == 0 || jsonInString == 0 {
		t.Errorf("escapes: \\u %d, \\r\\n %d, \\\" %d; want all present", escapes, crlf, jsonInString)
	}
}

// With HTTP2 the server speaks HTTP/2 to a client that offers it, and still HTTP/1.1 to one
// that does not.
func TestServerHTTP2(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		s, _ := start(t, Config{HTTP2: h2})
		tr := s.Client().Transport.(*http.Transport)
		tr.ForceAttemptHTTP2 = true
		resp, err := (&http.Client{Transport: tr}).Get(s.URL + "/common/discovery/instance?api-version=1.1&authorization_endpoint=" + s.URL + "/common/oauth2/authorize")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if want := map[bool]int{false: 1, true: 2}[h2]; resp.ProtoMajor != want {
			t.Errorf("HTTP2 %v: answered with HTTP/%d, want %d", h2, resp.ProtoMajor, want)
		}
		resp, err = s.Client().Get(s.URL + "/common/discovery/instance")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 1 {
			t.Errorf("HTTP2 %v: a client without h2 got HTTP/%d", h2, resp.ProtoMajor)
		}
	}
}
