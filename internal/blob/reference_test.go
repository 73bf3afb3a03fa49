package blob

// The implementation Lines replaced (json.Decoder + json.Compact), kept as the reference the
// differential tests hold the single-pass scanner to: same lines, same record counts, same
// kind of error.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// referenceLines reads the JSON array of records from r and writes one line per record to w. It returns
// the number of records written. On error, what was written to w must be discarded: Lines does
// not undo partial output.
func referenceLines(r io.Reader, m Meta, w io.Writer) (int, error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return 0, fmt.Errorf("%w: empty body, expected a JSON array", ErrFormat)
		}
		return 0, refDecodeErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return 0, fmt.Errorf("%w: expected a JSON array of records, got %v", ErrFormat, tok)
	}
	suffix := m.suffix()
	var raw json.RawMessage
	var rec, line bytes.Buffer
	n := 0
	for dec.More() {
		raw = raw[:0]
		if err := dec.Decode(&raw); err != nil {
			return n, refDecodeErr(err)
		}
		rec.Reset()
		if err := json.Compact(&rec, raw); err != nil {
			return n, fmt.Errorf("%w: record %d: %v", ErrFormat, n+1, err)
		}
		obj := rec.Bytes()
		if obj[0] != '{' {
			return n, fmt.Errorf("%w: record %d is not a JSON object", ErrFormat, n+1)
		}
		if !utf8.Valid(obj) {
			return n, fmt.Errorf("%w: record %d is not valid UTF-8", ErrFormat, n+1)
		}
		if refMayClash(obj) {
			if obj, err = refDropKeys(obj); err != nil {
				return n, fmt.Errorf("%w: record %d: %v", ErrFormat, n+1, err)
			}
		}
		line.Reset()
		line.Write(obj[:len(obj)-1])
		if len(obj) == 2 { // "{}": no comma before the first metadata field
			line.Write(suffix[1:])
		} else {
			line.Write(suffix)
		}
		if _, err := w.Write(line.Bytes()); err != nil {
			return n, err
		}
		n++
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return n, refDecodeErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return n, fmt.Errorf("%w: data after the JSON array", ErrFormat)
	}
	return n, nil
}

// refDecodeErr keeps transport errors (a body cut short) as they are, so the caller can retry,
// and marks everything else as a format error.
func refDecodeErr(err error) error {
	var se *json.SyntaxError
	var ue *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &ue) || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return err
}

// refMayClash is a cheap pre-check: only objects that mention a metadata name, or escape a
// character in some string (a key could hide that way), need the slow path.
func refMayClash(obj []byte) bool {
	return bytes.Contains(obj, []byte(`"content`)) || bytes.Contains(obj, []byte(`\u00`))
}

// refDropKeys rewrites a compact object without its top-level metadata keys, keeping the order and
// the raw values of all others.
func refDropKeys(obj []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteByte('{')
	first := true
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, err
		}
		if refIsMetaKey(key) {
			continue
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		writeString(&out, key)
		out.WriteByte(':')
		out.Write(val)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

func refIsMetaKey(k string) bool {
	for _, m := range metaKeys {
		if k == m {
			return true
		}
	}
	return false
}
