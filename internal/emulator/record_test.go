package emulator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// body renders a blob body the way the server streams it.
func body(t *testing.T, e *Emulator, contentID string) []byte {
	t.Helper()
	e.mu.Lock()
	b := e.byID[contentID]
	e.mu.Unlock()
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := e.writeBlob(w, b, -1); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decodeRecords(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var recs []map[string]any
	if err := d.Decode(&recs); err != nil {
		t.Fatalf("body is not a JSON array of objects: %v\n%.300s", err, b)
	}
	if d.More() {
		t.Fatal("trailing data after the array")
	}
	return recs
}

func TestRecordsDeterministic(t *testing.T) {
	gen := func(seed int64) (*Emulator, []Blob) {
		e := New(Config{Seed: seed, Now: func() time.Time { return testNow }})
		return e, e.Generate("Audit.Exchange", testNow.Add(-2*time.Hour), testNow, 30*time.Minute, 5)
	}
	e1, b1 := gen(7)
	e2, b2 := gen(7)
	e3, b3 := gen(8)
	tests := []struct {
		name string
		same bool
		a, b []Blob
		ea   *Emulator
		eb   *Emulator
	}{
		{"same seed", true, b1, b2, e1, e2},
		{"other seed", false, b1, b3, e1, e3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.a {
				sameIDs := strings.Join(tt.a[i].RecordIDs, ",") == strings.Join(tt.b[i].RecordIDs, ",")
				sameBody := bytes.Equal(body(t, tt.ea, tt.a[i].ContentID), body(t, tt.eb, tt.b[i].ContentID))
				if sameIDs != tt.same || sameBody != tt.same {
					t.Errorf("blob %d: same ids %v, same body %v, want %v", i, sameIDs, sameBody, tt.same)
				}
			}
		})
	}
}

var creationTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`)

func TestRecordsValid(t *testing.T) {
	workloads := map[string][]string{
		"Audit.AzureActiveDirectory": {"AzureActiveDirectory"},
		"Audit.Exchange":             {"Exchange"},
		"Audit.SharePoint":           {"SharePoint", "OneDrive"},
		"Audit.General":              {"MicrosoftTeams", "PowerBI", "Yammer"},
		"DLP.All":                    {"Exchange", "SharePoint", "OneDrive"},
	}
	e := New(Config{Seed: 1, Now: func() time.Time { return testNow }})
	layouts := map[string]bool{}
	for _, ct := range ContentTypes {
		t.Run(ct, func(t *testing.T) {
			blobs := e.Generate(ct, testNow.Add(-6*time.Hour), testNow, 30*time.Minute, 7)
			seen := map[string]bool{}
			for _, b := range blobs {
				raw := body(t, e, b.ContentID)
				switch {
				case bytes.Contains(raw, []byte("\n  ")):
					layouts["indented"] = true
				case bytes.Contains(raw, []byte("\n")):
					layouts["lines"] = true
				default:
					layouts["compact"] = true
				}
				recs := decodeRecords(t, raw)
				if len(recs) != 7 {
					t.Fatalf("%d records, want 7", len(recs))
				}
				for i, r := range recs {
					id, _ := r["Id"].(string)
					if id != b.RecordIDs[i] || seen[id] {
						t.Errorf("record %d Id %q: want %q, unique", i, id, b.RecordIDs[i])
					}
					seen[id] = true
					if ct, _ := r["CreationTime"].(string); !creationTime.MatchString(ct) {
						t.Errorf("CreationTime %q", ct)
					}
					if r["OrganizationId"] != DefaultTenantID {
						t.Errorf("OrganizationId %v", r["OrganizationId"])
					}
					wl, _ := r["Workload"].(string)
					if !strings.Contains(strings.Join(workloads[ct], ","), wl) || wl == "" {
						t.Errorf("Workload %q for %s", wl, ct)
					}
					for _, k := range []string{"Operation", "RecordType", "UserKey", "UserType", "ResultStatus", "ObjectId", "UserId", "ClientIP"} {
						if _, ok := r[k]; !ok {
							t.Errorf("record lacks %s", k)
						}
					}
					m, _ := r["Metrics"].(map[string]any)
					if m["Bytes"] != json.Number("12345678901234567890") || m["Code"] != json.Number("-2147217390") || m["Huge"] != json.Number("1.5e300") {
						t.Errorf("numbers not kept as written: %v", m)
					}
					if c, _ := r["Comment"].(string); !strings.Contains(c, "Zoë Müller 東京") || !strings.Contains(c, "\u2028") || !strings.Contains(c, "\t") {
						t.Errorf("Comment %q lacks non-ASCII or escapes", c)
					}
				}
			}
			if got := e.RecordIDs(ct); len(got) != len(seen) {
				t.Errorf("RecordIDs has %d, want %d distinct", len(got), len(seen))
			}
		})
	}
	if len(layouts) != 3 {
		t.Errorf("layouts seen %v, want compact, lines and indented", layouts)
	}
}

func TestRecordsRepeatsAndSize(t *testing.T) {
	e := New(Config{Seed: 3, Now: func() time.Time { return testNow }})
	first := e.AddBlob(BlobSpec{ContentType: "Audit.SharePoint", Created: testNow.Add(-time.Hour), Records: 4, RecordBytes: 2000})
	again := e.AddBlob(BlobSpec{ContentType: "Audit.SharePoint", Created: testNow, Records: 2, RepeatIDs: first.RecordIDs[1:3]})
	empty := e.AddBlob(BlobSpec{ContentType: "Audit.SharePoint", Created: testNow})

	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"repeats served in order", func(t *testing.T) {
			if len(again.RecordIDs) != 4 || again.RecordIDs[2] != first.RecordIDs[1] || again.RecordIDs[3] != first.RecordIDs[2] {
				t.Errorf("RecordIDs %v", again.RecordIDs)
			}
			if n := len(e.RecordIDs("Audit.SharePoint")); n != 6 {
				t.Errorf("distinct Ids %d, want 6", n)
			}
		}},
		{"repeated record equals the original", func(t *testing.T) {
			a := decodeRecords(t, body(t, e, first.ContentID))
			b := decodeRecords(t, body(t, e, again.ContentID))
			ja, _ := json.Marshal(a[1])
			jb, _ := json.Marshal(b[2])
			if !bytes.Equal(ja, jb) {
				t.Errorf("repeat differs:\n%s\n%s", ja, jb)
			}
		}},
		{"record size", func(t *testing.T) {
			n := len(body(t, e, first.ContentID))
			if n < 4*1800 || n > 4*2600 {
				t.Errorf("4 records of ~2000 bytes take %d bytes", n)
			}
		}},
		{"empty blob", func(t *testing.T) {
			if got := string(body(t, e, empty.ContentID)); got != "[]" {
				t.Errorf("empty body %q", got)
			}
		}},
		{"ids round trip", func(t *testing.T) {
			if _, _, ok := e.parseID(first.RecordIDs[0]); !ok {
				t.Error("own Id not recognised")
			}
			if _, _, ok := e.parseID("80c76bd2-9d81-4c57-a97a-accfc3443dca"); ok {
				t.Error("foreign Id recognised")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestBigBlobStreams(t *testing.T) {
	s, _ := start(t, Config{})
	tok := token(t, s)
	b := s.AddBlob(BlobSpec{ContentType: "Audit.General", Created: testNow.Add(-time.Hour), Records: 2000, RecordBytes: 4000})
	resp, raw := api(t, s, "GET", tok, b.ContentURI, false)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if len(raw) < 7_000_000 {
		t.Errorf("body %d bytes, want about 8 MB", len(raw))
	}
	if recs := decodeRecords(t, raw); len(recs) != 2000 {
		t.Errorf("%d records", len(recs))
	}
}
