package blob

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestLineID(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"first", `{"Id":"a","X":1}`, "a", true},
		{"after nested Ids", `{"Folders":[{"Id":"nested"}],"Obj":{"Id":"n2","S":"}\"{"},"Id":"top"}`, "top", true},
		{"escaped value", `{"Id":"a\"b"}`, `a"b`, true},
		{"spaces and newline", "{ \"Id\" : \"a\" }\n", "a", true},
		{"escaped key", `{"\u0049d":"a"}`, "a", true},
		{"both letters escaped", `{"\u0049\u0064":"a"}`, "a", true},
		{"first Id member decides", `{"\u0049d":"a","Id":"b"}`, "a", true},
		{"first Id not a string", `{"Id":5,"Id":"b"}`, "", false},
		{"no Id", `{"id":"lower","ID":"upper","\u0069d":"x"}`, "", false},
		{"number Id", `{"Id":5}`, "", false},
		{"not an object", `["Id","a"]`, "", false},
		{"broken", `{"Id`, "", false},
		{"cut after the Id", `{"Id":"a","X":"b`, "", false},
		{"two objects", `{"Id":"a"}{"Id":"b"}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := LineID([]byte(tt.in))
			if got != tt.want || ok != tt.ok {
				t.Errorf("LineID(%s) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// An Id key written with escapes is the record's Id: its output line spells it plainly, so
// the writer must deduplicate by it as crash recovery reads it back.
func TestLinesKeepSeesEscapedIdKey(t *testing.T) {
	in := `[{"\u0049d":"x","A":1},{"I\u0064":"y"}]`
	var asked []string
	var out bytes.Buffer
	n, err := LinesWith(strings.NewReader(in), meta, &out, Options{Keep: func(id []byte) bool {
		asked = append(asked, string(id))
		return string(id) != "x"
	}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(asked, ",") != "x,y" {
		t.Errorf("Keep asked about %q, want x,y", asked)
	}
	if n != 1 || out.String() != `{"Id":"y",`+tail {
		t.Errorf("n = %d, output %q; want only record y, its key written plainly", n, out.String())
	}
}

// idsAgree writes the blob and checks that the Ids the writer offered Keep are, line by line,
// the Ids LineID reads back from the output: what crash recovery remembers is what the writer
// deduplicated by.
func idsAgree(t *testing.T, blob []byte) {
	t.Helper()
	var wrote []string
	var out bytes.Buffer
	if _, err := LinesWith(bytes.NewReader(blob), meta, &out, Options{Keep: func(id []byte) bool {
		wrote = append(wrote, string(id))
		return true
	}}); err != nil {
		return // not a blob the writer takes: nothing was written to read back
	}
	var read []string
	for line := range bytes.Lines(out.Bytes()) {
		if id, ok := LineID(line); ok {
			read = append(read, id)
		}
	}
	if strings.Join(wrote, "\x00") != strings.Join(read, "\x00") || len(wrote) != len(read) {
		t.Errorf("blob %q: writer deduplicated by %q, recovery reads back %q", blob, wrote, read)
	}
}

func TestIDsAgreeOnRealisticBlobs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, layout := range []string{"compact", "lines", "indented"} {
		idsAgree(t, realisticBlob(rng, 50, layout))
	}
}

func FuzzIDsAgree(f *testing.F) {
	f.Add([]byte(`[{"Id":"a","X":1},{"Nested":{"Id":"b"},"Id":"c"},{"NoId":true},{"Id":5}]`))
	f.Add([]byte(`[{"\u0049d":"x"},{"I\u0064":"y","contentId":"z"},{"\u0049\u0064":"a\u0021"}]`))
	f.Add([]byte(`[{"\u0049d":"a","Id":"b"},{"Id":1,"Id":"c"}]`))
	f.Add([]byte("[{ \"Id\" : \"a\\\"b\" , \"\\u0063ontentUri\":1}]"))
	f.Add(append(append([]byte("["), realisticRecord(rand.New(rand.NewPCG(7, 8)), 0)...), ']'))
	f.Fuzz(func(t *testing.T, blob []byte) {
		idsAgree(t, blob)
	})
}
