package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// decodeB64 accepts standard or URL base64, with or without padding, because
// MSAL sends standard base64 in x5t#S256 where RFC 7515 says base64url.
func decodeB64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{
		base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding,
	} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// jwtParts splits a compact JWS and decodes header and claims. Segments must
// be base64url without padding, as RFC 7515 requires.
func jwtParts(tok string) (header, claims map[string]any, signed string, sig []byte, err error) {
	p := strings.Split(tok, ".")
	if len(p) != 3 {
		return nil, nil, "", nil, errors.New("not a compact JWS (want 3 dot-separated parts)")
	}
	hb, err := base64.RawURLEncoding.DecodeString(p[0])
	if err != nil {
		return nil, nil, "", nil, errors.New("header is not base64url")
	}
	cb, err := base64.RawURLEncoding.DecodeString(p[1])
	if err != nil {
		return nil, nil, "", nil, errors.New("payload is not base64url")
	}
	sig, err = base64.RawURLEncoding.DecodeString(p[2])
	if err != nil {
		return nil, nil, "", nil, errors.New("signature is not base64url")
	}
	if err := unmarshalNumber(hb, &header); err != nil {
		return nil, nil, "", nil, errors.New("header is not a JSON object")
	}
	if err := unmarshalNumber(cb, &claims); err != nil {
		return nil, nil, "", nil, errors.New("payload is not a JSON object")
	}
	return header, claims, p[0] + "." + p[1], sig, nil
}

func unmarshalNumber(b []byte, v any) error {
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	return d.Decode(v)
}

// numClaim reads a NumericDate claim.
func numClaim(c map[string]any, name string) (int64, bool) {
	n, ok := c[name].(json.Number)
	if !ok {
		return 0, false
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	if err != nil {
		return 0, false
	}
	return int64(f), true
}

func strClaim(c map[string]any, name string) string {
	s, _ := c[name].(string)
	return s
}

// signHS256 builds a compact HS256 JWT.
func signHS256(key []byte, claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	signed := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return signed + "." + base64.RawURLEncoding.EncodeToString(macSum(key, signed))
}

func macSum(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// verifyHS256 checks an access token issued by signHS256 and returns its claims.
func verifyHS256(key []byte, tok string) (map[string]any, error) {
	header, claims, signed, sig, err := jwtParts(tok)
	if err != nil {
		return nil, err
	}
	if header["alg"] != "HS256" {
		return nil, errors.New("unexpected token algorithm")
	}
	if !hmac.Equal(sig, macSum(key, signed)) {
		return nil, errors.New("token signature is invalid")
	}
	return claims, nil
}
