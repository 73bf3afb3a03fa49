package setup

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Defaults of a new credential.
const (
	// DefaultKeyBits: NIST SP 800-57 keeps 2048-bit RSA only until 2030, and a key may outlive
	// its first certificate (renewal can keep it); 3072 costs one slower signature an hour.
	DefaultKeyBits = 3072
	// DefaultValidity: two years, so renewal is a planned chore rather than a yearly surprise,
	// while a copied key stops working within a bounded time. check warns 30 days ahead.
	DefaultValidity = 2 * 365 * 24 * time.Hour
	// MaxValidity bounds --valid-days: a credential that never expires is never rotated.
	MaxValidity = 5 * 365 * 24 * time.Hour
	// backdate covers clocks a little behind ours: Azure AD and MSAL refuse a certificate
	// that is not yet valid.
	backdate = 10 * time.Minute
)

// KeyBits are the RSA sizes a new key may have; Azure AD takes all of them.
var KeyBits = []int{2048, 3072, 4096}

// Credential is a key and the self-signed certificate made for it.
type Credential struct {
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
}

// Thumbprint is the certificate's SHA-1 thumbprint as the Azure portal shows it: uppercase hex
// of the DER bytes.
func Thumbprint(c *x509.Certificate) string {
	sum := sha1.Sum(c.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// NewKey makes an RSA key of bits (one of KeyBits).
func NewKey(bits int) (*rsa.PrivateKey, error) {
	if !validBits(bits) {
		return nil, fmt.Errorf("key size %d: want 2048, 3072 or 4096 bits", bits)
	}
	return rsa.GenerateKey(rand.Reader, bits)
}

func validBits(bits int) bool {
	for _, b := range KeyBits {
		if b == bits {
			return true
		}
	}
	return false
}

// NewCertificate makes a self-signed certificate for key, valid from a little before now for
// validity, usable to sign client assertions.
func NewCertificate(key *rsa.PrivateKey, commonName string, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	if validity <= 0 || validity > MaxValidity {
		return nil, fmt.Errorf("validity %s: want more than 0 and at most %d days", validity, int(MaxValidity.Hours()/24))
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	start := now.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)), // positive, never zero
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             start.Add(-backdate),
		NotAfter:              start.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// keyCertPEM is the key (PKCS#8) followed by the certificate: the privateKeyFile of the config.
func (c Credential) keyCertPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	_ = pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
	return b.Bytes(), nil
}

// readKey finds the RSA private key in a PEM file's bytes (PKCS#8 or PKCS#1), and the subject
// of its certificate when the file holds one.
func readKey(data []byte) (*rsa.PrivateKey, string, error) {
	var key *rsa.PrivateKey
	subject := ""
	for rest := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")); ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] != "":
			return nil, "", errors.New("the private key is encrypted; o365logfetch reads only unencrypted PEM keys")
		case b.Type == "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, "", fmt.Errorf("private key: %w", err)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, "", fmt.Errorf("private key is %T; Azure AD certificate credentials need RSA", k)
			}
			key = rk
		case b.Type == "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
			if err != nil {
				return nil, "", fmt.Errorf("private key: %w", err)
			}
			key = k
		case b.Type == "CERTIFICATE" && subject == "":
			if c, err := x509.ParseCertificate(b.Bytes); err == nil {
				subject = c.Subject.CommonName
			}
		}
	}
	if key == nil {
		return nil, "", errors.New("no RSA private key in the file")
	}
	return key, subject, nil
}
