package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/o365logfetch/o365logfetch/internal/exit"
	"github.com/o365logfetch/o365logfetch/internal/localfs"
)

// Credential describes the loaded credential, for `check` and logs. It
// holds nothing secret.
type Credential struct {
	Kind       string    // KindCertificate, KindKeyThumbprint or KindSecret
	File       string    // the file the certificate came from; "" for a secret
	Thumbprint string    // SHA-1 of the certificate, uppercase hex, as the Azure portal shows it
	SHA256     string    // SHA-256 of the certificate, uppercase hex; "" for key+thumbprint
	NotAfter   time.Time // certificate expiry; zero for key+thumbprint
	Subject    string    // certificate subject; "" for key+thumbprint
}

// Credential kinds.
const (
	KindCertificate   = "certificate"
	KindKeyThumbprint = "key+thumbprint"
	KindSecret        = "client secret"
)

// CredentialError is a problem with the key or certificate files (the CLI
// maps it to exit code 2). Msg says what is wrong and how to fix it.
type CredentialError struct {
	File, Msg string
}

func (e *CredentialError) Error() string {
	if e.File == "" {
		return e.Msg
	}
	return e.File + ": " + e.Msg
}

// ExitCode is exit.Usage: the files must be fixed; a retry cannot help.
func (e *CredentialError) ExitCode() exit.Code { return exit.Usage }

const decryptFix = "the private key is encrypted, which is not supported; write an unencrypted copy with " +
	"`openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.plain` and protect it with file permissions, or use the PFX with pfxFile and a password from pfxPasswordEnv or pfxPasswordFile"

// loaded is a credential ready for MSAL.
type loaded struct {
	cred confidential.Credential
	info Credential
}

// pemFile is one file's PEM blocks, sorted by kind.
type pemFile struct {
	name  string // path
	data  []byte // BOM stripped
	keys  []*pem.Block
	certs []*pem.Block
}

func loadCredential(s Settings, now func() time.Time) (*loaded, error) {
	n := 0
	for _, set := range []bool{s.PrivateKeyFile != "", s.PFXFile != "", s.ClientSecret != ""} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return nil, &CredentialError{Msg: "more than one credential configured; keep exactly one of privateKeyFile, pfxFile or a client secret"}
	case s.PFXFile != "":
		return loadPFX(s, now)
	case s.ClientSecret != "":
		return loadSecret(s)
	case s.PrivateKeyFile == "":
		return nil, &CredentialError{Msg: "no credential configured; set privateKeyFile, pfxFile or a client secret in [API_SETTINGS]"}
	}
	files := []*pemFile{}
	kf, err := readPEM(s.PrivateKeyFile, "privateKeyFile")
	if err != nil {
		return nil, err
	}
	files = append(files, kf)
	if s.CertificateFile != "" {
		cf, err := readPEM(s.CertificateFile, "certificateFile")
		if err != nil {
			return nil, err
		}
		files = append(files, cf)
	}

	var keyBlock *pem.Block
	var keyFile string
	for _, f := range files {
		for _, b := range f.keys {
			if keyBlock != nil {
				return nil, &CredentialError{File: f.name, Msg: "holds a second private key; keep exactly one (the one whose certificate is registered on the app)"}
			}
			keyBlock, keyFile = b, f.name
		}
	}
	if keyBlock == nil {
		return nil, &CredentialError{File: s.PrivateKeyFile, Msg: "no private key found; expected a -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY----- block"}
	}
	key, err := parseKey(keyBlock)
	if err != nil {
		return nil, &CredentialError{File: keyFile, Msg: err.Error()}
	}

	var certs []*x509.Certificate
	certFile := s.PrivateKeyFile
	for _, f := range files {
		for _, b := range f.certs {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, &CredentialError{File: f.name, Msg: "unreadable CERTIFICATE block: " + err.Error()}
			}
			certs = append(certs, c)
			certFile = f.name
		}
	}
	if len(certs) == 0 {
		return keyOnly(s, key, now)
	}
	return withCertificate(s, files, key, certs, certFile, now())
}

func readPEM(path, setting string) (*pemFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &CredentialError{File: path, Msg: localfs.ReadProblem(err, fmt.Sprintf("set %s in [API_SETTINGS] to the app's PEM file", setting))}
	}
	// A UTF-8 BOM (Windows editors) hides the first block from pem.Decode.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	f := &pemFile{name: path, data: data}
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") || b.Headers["DEK-Info"] != "" {
			return nil, &CredentialError{File: path, Msg: decryptFix}
		}
		switch {
		case b.Type == "CERTIFICATE":
			f.certs = append(f.certs, b)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			f.keys = append(f.keys, b)
		}
	}
	if len(f.keys) == 0 && len(f.certs) == 0 {
		msg := "no PEM key or certificate found; expected -----BEGIN PRIVATE KEY----- (and optionally -----BEGIN CERTIFICATE-----)"
		if len(bytes.TrimSpace(data)) == 0 {
			msg = "is empty; " + msg
		} else if data[0] == 0x30 {
			msg = "looks binary (DER or PFX), not PEM; convert it with openssl, e.g. `openssl pkcs12 -in app.pfx -nodes -out app.pem`"
		}
		return nil, &CredentialError{File: path, Msg: msg}
	}
	return f, nil
}

func parseKey(b *pem.Block) (*rsa.PrivateKey, error) {
	var key any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		return nil, errors.New("holds an EC key; Azure AD certificate credentials need an RSA key (e.g. `openssl req -x509 -newkey rsa:2048 ...`)")
	default:
		return nil, fmt.Errorf("holds a %q block, which is not a supported private key; use PKCS#8 (BEGIN PRIVATE KEY) or PKCS#1 (BEGIN RSA PRIVATE KEY)", b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("unreadable %s block: %v", b.Type, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return nil, errors.New("holds an EC key; Azure AD certificate credentials need an RSA key")
	case ed25519.PrivateKey:
		return nil, errors.New("holds an Ed25519 key; Azure AD certificate credentials need an RSA key")
	default:
		return nil, fmt.Errorf("holds a %T key; Azure AD certificate credentials need an RSA key", key)
	}
}

// withCertificate is the certificate credential MSAL knows (PS256 with
// x5t#S256).
func withCertificate(s Settings, files []*pemFile, key *rsa.PrivateKey, certs []*x509.Certificate, certFile string, now time.Time) (*loaded, error) {
	leaf := leafOf(key, certs)
	if leaf == nil {
		return nil, &CredentialError{File: certFile, Msg: fmt.Sprintf("no certificate here belongs to the private key in %s (certificate thumbprint %s); keep the key and its certificate together", s.PrivateKeyFile, sha1Hex(certs[0]))}
	}
	if err := checkLeaf(s, leaf, certFile, now); err != nil {
		return nil, err
	}

	// The path verified against MSAL: CertFromPEM on the (BOM-free) bytes
	// of both files, then NewCredFromCert.
	var all []byte
	for _, f := range files {
		all = append(all, f.data...)
		all = append(all, '\n')
	}
	mcerts, mkey, err := confidential.CertFromPEM(all, "")
	if err != nil {
		return nil, &CredentialError{File: certFile, Msg: "unreadable: " + err.Error()}
	}
	cred, err := confidential.NewCredFromCert(mcerts, mkey)
	if err != nil {
		return nil, &CredentialError{File: certFile, Msg: err.Error()}
	}
	return &loaded{cred: cred, info: certInfo(leaf, certFile)}, nil
}

// leafOf is the certificate of key among certs, or nil.
func leafOf(key *rsa.PrivateKey, certs []*x509.Certificate) *x509.Certificate {
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(key.Public()) {
			return c
		}
	}
	return nil
}

func certInfo(leaf *x509.Certificate, file string) Credential {
	sum := sha256.Sum256(leaf.Raw)
	return Credential{
		Kind:       KindCertificate,
		File:       file,
		Thumbprint: sha1Hex(leaf),
		SHA256:     strings.ToUpper(hex.EncodeToString(sum[:])),
		NotAfter:   leaf.NotAfter,
		Subject:    leaf.Subject.String(),
	}
}

// checkLeaf fails early, with the fix, on what Azure AD would refuse with
// a vaguer AADSTS700027: a thumbprint that names another certificate, and a
// certificate outside its validity.
func checkLeaf(s Settings, leaf *x509.Certificate, certFile string, now time.Time) error {
	thumb := sha1Hex(leaf)
	if s.Thumbprint != "" && !strings.EqualFold(s.Thumbprint, thumb) {
		return &CredentialError{File: certFile, Msg: fmt.Sprintf("certificate thumbprint is %s but the configured thumbprint is %s; fix thumbprint in [API_SETTINGS] or use the matching certificate", thumb, s.Thumbprint)}
	}
	const day = "2006-01-02 15:04:05 MST"
	if now.Before(leaf.NotBefore) {
		return &CredentialError{File: certFile, Msg: fmt.Sprintf("certificate %s is not valid before %s (now %s); check the system clock", thumb, leaf.NotBefore.UTC().Format(day), now.UTC().Format(day))}
	}
	if now.After(leaf.NotAfter) {
		return &CredentialError{File: certFile, Msg: fmt.Sprintf("certificate %s expired on %s (valid from %s); create a new certificate, upload it to the app registration and point the configuration at it", thumb, leaf.NotAfter.UTC().Format(day), leaf.NotBefore.UTC().Format(day))}
	}
	return nil
}

// keyOnly serves the Python tool's configuration: a bare private key plus
// the thumbprint of its certificate, signed the way ADAL did (RS256, x5t).
func keyOnly(s Settings, key *rsa.PrivateKey, now func() time.Time) (*loaded, error) {
	if s.Thumbprint == "" {
		return nil, &CredentialError{File: s.PrivateKeyFile, Msg: "holds a private key but no certificate; set thumbprint in [API_SETTINGS] to the certificate thumbprint the Azure portal shows, " +
			"or add the certificate (certificateFile, or append it to this file)"}
	}
	sum, err := hex.DecodeString(s.Thumbprint)
	if err != nil || len(sum) != sha1.Size {
		return nil, &CredentialError{Msg: fmt.Sprintf("thumbprint %q is not 40 hex digits", s.Thumbprint)}
	}
	return &loaded{
		cred: confidential.NewCredFromAssertionCallback(assertionSigner(key, sum, s.ClientID, now)),
		info: Credential{Kind: KindKeyThumbprint, Thumbprint: strings.ToUpper(s.Thumbprint)},
	}, nil
}

func sha1Hex(c *x509.Certificate) string {
	sum := sha1.Sum(c.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
