// A record's identity: its top-level "Id".

package blob

import (
	"bytes"
	"encoding/json"
)

// topID finds the record's top-level "Id" string (not the Ids nested objects carry).
func (s *scanner) topID(obj []byte) ([]byte, bool) {
	for _, m := range s.members {
		if string(obj[m.key:m.colon]) != `"Id"` {
			continue
		}
		v := obj[m.colon+1 : m.end]
		if len(v) < 2 || v[0] != '"' {
			return nil, false
		}
		if in := v[1 : len(v)-1]; bytes.IndexByte(in, '\\') < 0 {
			return in, true
		}
		var id string
		if json.Unmarshal(v, &id) != nil {
			return nil, false
		}
		s.idBuf = append(s.idBuf[:0], id...)
		return s.idBuf, true
	}
	return nil, false
}
