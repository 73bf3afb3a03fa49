package auth

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/o365logfetch/o365logfetch/internal/localfs"
)

// loadPFX reads a PKCS#12 file (what Windows and the Azure portal export)
// with its chain. go-pkcs12 reads OpenSSL 3's AES defaults as well as the
// legacy RC2/3DES ones, and an empty password.
func loadPFX(s Settings, now func() time.Time) (*loaded, error) {
	data, err := os.ReadFile(s.PFXFile)
	if err != nil {
		return nil, &CredentialError{File: s.PFXFile, Msg: localfs.ReadProblem(err, "set pfxFile in [API_SETTINGS] to the app's PFX file")}
	}
	key, leaf, chain, err := pkcs12.DecodeChain(data, s.PFXPassword)
	if err != nil {
		return nil, &CredentialError{File: s.PFXFile, Msg: pfxProblem(err, s.PFXPassword != "")}
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		what := fmt.Sprintf("a %T key", key)
		if _, ec := key.(*ecdsa.PrivateKey); ec {
			what = "an EC key"
		}
		return nil, &CredentialError{File: s.PFXFile, Msg: "holds " + what + "; Azure AD certificate credentials need an RSA key"}
	}
	certs := append([]*x509.Certificate{leaf}, chain...)
	if leafOf(rsaKey, certs) != leaf {
		return nil, &CredentialError{File: s.PFXFile, Msg: fmt.Sprintf("its certificate (thumbprint %s) does not belong to its private key; export the PFX again with the key", sha1Hex(leaf))}
	}
	if err := checkLeaf(s, leaf, s.PFXFile, now()); err != nil {
		return nil, err
	}
	cred, err := confidential.NewCredFromCert(certs, rsaKey)
	if err != nil {
		return nil, &CredentialError{File: s.PFXFile, Msg: err.Error()}
	}
	return &loaded{cred: cred, info: certInfo(leaf, s.PFXFile)}, nil
}

func pfxProblem(err error, hasPassword bool) string {
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword) && hasPassword:
		return "wrong password; check the environment variable named by pfxPasswordEnv or the file named by pfxPasswordFile"
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		return "the PFX has a password and none is configured; set pfxPasswordEnv (the name of an environment variable holding it) or pfxPasswordFile"
	}
	return "not a PFX/PKCS#12 file with one private key and its certificate: " + err.Error()
}

// loadSecret is a client secret credential. Nothing of the secret goes
// into the Credential description.
func loadSecret(s Settings) (*loaded, error) {
	cred, err := confidential.NewCredFromSecret(s.ClientSecret)
	if err != nil {
		return nil, &CredentialError{Msg: "client secret: " + err.Error()}
	}
	return &loaded{cred: cred, info: Credential{Kind: KindSecret}}, nil
}
