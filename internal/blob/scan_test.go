package blob

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
)

// sameAsReference runs Lines and the implementation it replaced on the same input and fails
// unless they write the same bytes, count the same records and agree on success.
func sameAsReference(t *testing.T, in []byte, read func([]byte) io.Reader) {
	t.Helper()
	var got, want bytes.Buffer
	n, err := Lines(read(in), meta, &got)
	wn, werr := referenceLines(bytes.NewReader(in), meta, &want)
	if (err == nil) != (werr == nil) {
		t.Fatalf("input %q:\n err = %v\nwant %v", in, err, werr)
	}
	if err != nil {
		// The reference let a bare io.EOF through for an array cut short after '['; any
		// other error of a body that reads fine is a format error.
		if !errors.Is(err, ErrFormat) {
			t.Fatalf("input %q: err = %v, want ErrFormat", in, err)
		}
		if !errors.Is(werr, ErrFormat) && werr != io.EOF {
			t.Fatalf("input %q: reference err = %v", in, werr)
		}
	}
	if n != wn {
		t.Fatalf("input %q: records = %d, reference %d (err %v)", in, n, wn, err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("input %q:\n got %q\nwant %q", in, got.Bytes(), want.Bytes())
	}
}

func whole(b []byte) io.Reader   { return bytes.NewReader(b) }
func byByte(b []byte) io.Reader  { return iotest.OneByteReader(bytes.NewReader(b)) }
func withEOF(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }

// chunks reads b in pieces of 1 byte to 20 KB, as a network body arrives: records start and
// end anywhere in the read buffer.
func chunks(b []byte) io.Reader {
	return &chunkReader{b: b, rng: rand.New(rand.NewPCG(uint64(len(b)), 5))}
}

type chunkReader struct {
	b   []byte
	rng *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+c.rng.IntN(20<<10))], c.b)
	c.b = c.b[n:]
	return n, nil
}

func TestLinesMatchesReference(t *testing.T) {
	tests := []struct{ name, in string }{
		{"white space everywhere", " \t\r\n[ \n{ \"a\" : [ 1 , { \"b\" : null } ] , \"c\" : true } \n, {}\t]\r\n "},
		{"indented, with a metadata key", "[\n  {\n    \"Id\" : \"x\",\n    \"contentId\" : 1 ,\r\n\t\"A\" : [ 1 , { } , [ ] ],\n    \"contentUri\": \"u\"\n  }\n]"},
		{"numbers as written", `[{"a":-0,"b":0.5e-10,"c":1E+400,"d":12345678901234567890123,"e":-1.0}]`},
		{"escaped key normalised on the clash path", `[{"\u0041\/b":1,"v":"\u00e9"}]`},
		{"raw U+2028 in a key on the clash path", "[{\"a\u2028b\":1,\"contentX\":2}]"},
		{"escaped key without any clash hint", `[{"a\nb":1,"\/":2}]`},
		{"all keys are metadata", `[{"contentId":1,"contentUri":{"x":[1]}}]`},
		{"clash only in a nested object", `[{"x":{"contentId":1},"contentType":"y"}]`},
		{"quoted content inside a value", `[{"x":"say \"contentious\""}]`},
		{"lone surrogate key", `[{"\ud800":1,"contentId":2}]`},
		{"duplicate keys kept", `[{"a":1,"a":2}]`},
		{"deep but allowed", "[" + strings.Repeat(`{"a":`, 500) + "1" + strings.Repeat("}", 500) + "]"},
		{"array as record", `[[1]]`},
		{"string as record", `[{"a":1},"x"]`},
		{"missing comma", `[{} {}]`},
		{"trailing comma", `[{},]`},
		{"comma first", `[,{}]`},
		{"unclosed array", `[`},
		{"unclosed record", `[{"a":1`},
		{"unclosed string", `[{"a":"x`},
		{"bad escape", `[{"a":"\x"}]`},
		{"short unicode escape", `[{"a":"\u12"}]`},
		{"control character in a string", "[{\"a\":\"x\ty\"}]"},
		{"number without digits", `[{"a":-}]`},
		{"leading zero", `[{"a":01}]`},
		{"fraction without digits", `[{"a":1.}]`},
		{"exponent without digits", `[{"a":1e+}]`},
		{"bad literal", `[{"a":nul}]`},
		{"key not a string", `[{1:2}]`},
		{"missing colon", `[{"a" 1}]`},
		{"garbage after the array", `[{}]]`},
		{"second array", `[][]`},
		{"invalid UTF-8 in a value", "[{\"a\":\"\xc3\x28\"}]"},
		{"invalid UTF-8 outside strings", "[{\"a\":1}\xff]"},
		{"byte order mark", "\xef\xbb\xbf[{}]"},
		{"empty", ""},
		{"only white space", " \n "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, read := range []func([]byte) io.Reader{whole, byByte, withEOF} {
				sameAsReference(t, []byte(tt.in), read)
			}
		})
	}
}

func TestLinesMatchesReferenceOnRealisticBlobs(t *testing.T) {
	for _, layout := range []string{"compact", "lines", "indented"} {
		t.Run(layout, func(t *testing.T) {
			in := realisticBlob(rand.New(rand.NewPCG(1, 2)), 300, layout)
			sameAsReference(t, in, whole)
			sameAsReference(t, in, withEOF)
			sameAsReference(t, in, chunks)
			sameAsReference(t, in[:300*100], withEOF) // cut inside a record
			sameAsReference(t, in[:300*100], chunks)
		})
	}
}

func TestLinesTooDeep(t *testing.T) {
	for _, depth := range []int{maxDepth, maxDepth + 1} {
		t.Run(fmt.Sprint(depth), func(t *testing.T) {
			in := "[" + strings.Repeat(`{"a":`, depth-1) + "{}" + strings.Repeat("}", depth-1) + "]"
			sameAsReference(t, []byte(in), whole)
		})
	}
}

// A spool that fails must not be counted as written.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

func TestLinesWriterError(t *testing.T) {
	in := realisticBlob(rand.New(rand.NewPCG(3, 4)), 200, "compact")
	n, err := Lines(bytes.NewReader(in), meta, &failAfter{n: 1})
	if err == nil || errors.Is(err, ErrFormat) {
		t.Fatalf("err = %v, want the writer's error", err)
	}
	if n <= 0 || n >= 200 {
		t.Fatalf("records = %d, want those of the first batch only", n)
	}
}

// The hot path allocates per blob, not per record: a blob of many records costs the same few
// allocations as a small one (the metadata suffix and the error-free bookkeeping).
func TestLinesAllocationsDoNotGrowWithRecords(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	for _, layout := range []string{"compact", "indented"} {
		t.Run(layout, func(t *testing.T) {
			in := realisticBlob(rand.New(rand.NewPCG(5, 6)), 500, layout)
			allocs := testing.AllocsPerRun(20, func() {
				if _, err := Lines(bytes.NewReader(in), meta, io.Discard); err != nil {
					t.Fatal(err)
				}
			})
			if allocs > 20 {
				t.Fatalf("%.0f allocations for a blob of 500 records", allocs)
			}
		})
	}
}

func FuzzLinesMatchesReference(f *testing.F) {
	f.Add([]byte(`[{"Id":"a","contentId":"x"},{}]`))
	f.Add([]byte("[\n{\"A\":[1,{\"b\":null}],\"\\u0063ontentUri\":1}]"))
	f.Add([]byte(`[{"a":-1.5e+3,"b":"\u00e9\"content","c":[true,false,null]}]`))
	f.Add([]byte(`[1]`))
	f.Add(realisticRecord(rand.New(rand.NewPCG(7, 8)), 0)[:300])
	f.Fuzz(func(t *testing.T, in []byte) {
		sameAsReference(t, in, whole)
		sameAsReference(t, in, byByte)
		sameAsReference(t, in, chunks)
	})
}

// realisticBlob makes a body shaped like the API's: records of 0.5–4 KB in the common schema,
// with non-ASCII text, escapes, big numbers and nested arrays.
func realisticBlob(rng *rand.Rand, records int, layout string) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range records {
		if i > 0 {
			b.WriteByte(',')
		}
		if layout != "compact" {
			b.WriteByte('\n')
		}
		rec := realisticRecord(rng, i)
		if layout == "indented" {
			var ind bytes.Buffer
			_ = json.Indent(&ind, rec, "  ", "  ")
			rec = ind.Bytes()
		}
		b.Write(rec)
	}
	if layout != "compact" {
		b.WriteByte('\n')
	}
	b.WriteByte(']')
	return b.Bytes()
}

func realisticRecord(rng *rand.Rand, i int) []byte {
	size := 500 + rng.IntN(3501)
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"CreationTime":"2026-11-26T07:%02d:12","Id":"%08x-9d81-4c57-a97a-%012x","Operation":"MailItemsAccessed",`, i%60, rng.Uint32(), rng.Uint64()&0xffffffffffff)
	b.WriteString(`"OrganizationId":"41463f53-8812-40f4-890f-865bf6e35190","RecordType":2,"ResultStatus":"Succeeded","UserKey":"1003BFFD9A1B2C3D",`)
	b.WriteString(`"UserType":0,"Version":1,"Workload":"Exchange","ClientIP":"134.170.188.221","UserId":"zoe.muller@contoso.onmicrosoft.com",`)
	switch i % 3 {
	case 0:
		b.WriteString(`"ObjectId":"\\\\EXCH01\\Mailbox\\Zoë Müller\\Inbox\\\"Budget\" 東京","Parameters":[{"Name":"Subject","Value":"Re: \"Q3\" \u00fcber \\\\server\\share\tend"}],`)
	case 1:
		b.WriteString(`"ObjectId":"https://contoso.sharepoint.com/sites/Finance/Shared Documents/東京/Q3 \"final\".xlsx","TeamName":"Équipe Ops \u2028 Tokyo 東京",`)
	default:
		b.WriteString(`"ExtendedProperties":[{"Name":"UserAgent","Value":"Mozilla/5.0 (Windows NT 10.0; Win64; x64)"},{"Name":"RequestType","Value":"OAuth2:Token"}],`)
	}
	b.WriteString(`"Metrics":{"Bytes":12345678901234567890,"Code":-2147217390,"Ratio":0.1000000000000000055511151231257827,"Huge":1.5e300,"Tiny":-2.5E-8,"Zero":-0.0},`)
	b.WriteString(`"Comment":"Line one\tTabbed \"quoted\" C:\\Temp\\ line\u2028sep\nZoë Müller 東京 ☃","Details":"`)
	for b.Len() < size {
		b.WriteString("Lorem ipsum dolor sit amet, consectetur adipiscing elit; sed do eiusmod tempor. ")
	}
	b.WriteString(`"}`)
	return b.Bytes()
}

func BenchmarkLines(b *testing.B) {
	for _, layout := range []string{"compact", "indented"} {
		in := realisticBlob(rand.New(rand.NewPCG(9, 10)), 150, layout)
		for _, impl := range []struct {
			name  string
			lines func(io.Reader, Meta, io.Writer) (int, error)
		}{{"scanner", Lines}, {"reference", referenceLines}} {
			b.Run(layout+"/"+impl.name, func(b *testing.B) {
				b.SetBytes(int64(len(in)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := impl.lines(bytes.NewReader(in), meta, io.Discard); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkLinesEmulatorBlobs converts the blobs make bench serves: the emulator's records (all
// content types, denser in fields than realisticRecord) in its three layouts.
func BenchmarkLinesEmulatorBlobs(b *testing.B) {
	e := emulator.New(emulator.Config{Seed: 1})
	created := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	var bodies [][]byte
	size := 0
	for _, ct := range []string{"Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint"} {
		for i := range 6 {
			blob := e.AddBlob(emulator.BlobSpec{ContentType: ct, Created: created.Add(time.Duration(i) * time.Minute), Records: 150})
			body, err := e.Body(blob.ContentID)
			if err != nil {
				b.Fatal(err)
			}
			bodies = append(bodies, body)
			size += len(body)
		}
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, body := range bodies {
			if _, err := Lines(bytes.NewReader(body), meta, io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	}
}
