package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// AppCredential is an app registration's certificate credential: an RSA
// 2048 key and a self-signed certificate.
type AppCredential struct {
	Cert       *x509.Certificate
	CertPEM    []byte
	KeyPEM     []byte // PKCS#8 "PRIVATE KEY"
	Thumbprint string // uppercase hex SHA-1 of the cert DER, as the Azure portal shows it
	Key        *rsa.PrivateKey
}

// NewAppCredential makes a credential valid from notBefore to notAfter.
func NewAppCredential(notBefore, notAfter time.Time) (*AppCredential, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("app key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("app cert serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "o365logfetch"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("app cert: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("app cert: %w", err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("app key: %w", err)
	}
	sum := sha1.Sum(der)
	return &AppCredential{
		Cert:       cert,
		CertPEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:     pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
		Thumbprint: strings.ToUpper(hex.EncodeToString(sum[:])),
		Key:        key,
	}, nil
}
