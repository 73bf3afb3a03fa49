package auth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// assertionLifetime matches what MSAL puts in its own assertions.
const assertionLifetime = 10 * time.Minute

type jwtHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	X5t string `json:"x5t"`
}

type jwtClaims struct {
	Aud string `json:"aud"`
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Jti string `json:"jti"`
	Nbf int64  `json:"nbf"`
	Exp int64  `json:"exp"`
}

// assertionSigner signs client assertions with a bare key, identifying the
// certificate by its SHA-1 thumbprint (x5t) alone: Azure AD matches x5t
// against the certificates registered on the app, so the certificate itself
// is not needed. This is the RS256 form ADAL sent for the Python tool.
func assertionSigner(key *rsa.PrivateKey, sha1Thumb []byte, clientID string, now func() time.Time) func(context.Context, confidential.AssertionRequestOptions) (string, error) {
	header := jwtHeader{Alg: "RS256", Typ: "JWT", X5t: base64.RawURLEncoding.EncodeToString(sha1Thumb)}
	return func(_ context.Context, o confidential.AssertionRequestOptions) (string, error) {
		id := clientID
		if o.ClientID != "" {
			id = o.ClientID
		}
		t := now()
		claims := jwtClaims{
			Aud: o.TokenEndpoint,
			Iss: id,
			Sub: id,
			Jti: newJTI(),
			Nbf: t.Unix(),
			Exp: t.Add(assertionLifetime).Unix(),
		}
		return signRS256(key, header, claims)
	}
}

func signRS256(key *rsa.PrivateKey, header jwtHeader, claims jwtClaims) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign client assertion: %w", err)
	}
	return signed + "." + enc.EncodeToString(sig), nil
}

// newJTI returns a random UUID (version 4).
func newJTI() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
