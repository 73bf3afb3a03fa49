// Package setup makes what a new installation needs: an RSA key with a self-signed certificate
// (the key+certificate PEM the config names, and the certificate alone to upload to the app
// registration), a commented o365_logs.cfg and a .env. It never replaces a key or certificate,
// and replaces the config and .env only when told to.
package setup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/atomicfile"
	"github.com/o365logfetch/o365logfetch/internal/exit"
)

// File modes. The key file is readable by its owner alone; the config and .env hold no secret
// (secrets never go into them) but say where the key is.
const (
	keyMode    os.FileMode = 0o600
	certMode   os.FileMode = 0o644 // the public certificate, to be copied to the portal
	configMode os.FileMode = 0o640
	dirMode    os.FileMode = 0o750
)

// Layout names every file and directory of an installation under one directory.
type Layout struct {
	Dir      string // absolute
	Config   string // o365_logs.cfg
	Env      string // .env
	Key      string // app.pem: key + certificate, privateKeyFile
	Cert     string // app.cer: the certificate alone (DER), to upload
	Output   string // baseLogLocation
	DebugLog string // debugLogLocation
	State    string // timeKeeperLocation
}

// NewLayout lays out an installation in dir, made absolute.
func NewLayout(dir string) (Layout, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Layout{}, err
	}
	return Layout{
		Dir:      abs,
		Config:   filepath.Join(abs, "o365_logs.cfg"),
		Env:      filepath.Join(abs, ".env"),
		Key:      filepath.Join(abs, "app.pem"),
		Cert:     filepath.Join(abs, "app.cer"),
		Output:   filepath.Join(abs, "logs"),
		DebugLog: filepath.Join(abs, "debug"),
		State:    filepath.Join(abs, "state"),
	}, nil
}

// Free checks that a new installation may be written in l: no key or certificate there, and
// no config or .env unless force. It returns the files force would replace.
func (l Layout) Free(force bool) (replaced []string, err error) {
	for _, f := range []struct{ path, what string }{{l.Key, "private key"}, {l.Cert, "certificate"}} {
		if found, err := exists(f.path); err != nil || found {
			return nil, existsError(err, f.path, f.what, "init never replaces a key or certificate: "+
				"use init --renew-cert to make a new certificate beside it, or choose another --dir")
		}
	}
	for _, f := range []struct{ path, what string }{{l.Config, "config"}, {l.Env, ".env"}} {
		found, err := exists(f.path)
		if err != nil {
			return nil, err
		}
		if found {
			if !force {
				return nil, &ExistsError{f.path, f.what, "use --force to replace it (the key is kept either way)"}
			}
			replaced = append(replaced, f.path)
		}
	}
	return replaced, nil
}

// Params of a new installation.
type Params struct {
	Layout        Layout
	Tenant        string // domain or GUID; "" = TenantID
	TenantID      string
	ClientID      string
	AuthorityHost string // https://host[:port]
	Resource      string // https URL
	KeyBits       int
	Validity      time.Duration
	Force         bool // replace an existing config and .env (never the key or certificate)
	Now           time.Time
}

// Result is what was written.
type Result struct {
	Key, Cert  string // files written
	Thumbprint string // as the Azure portal shows it
	NotAfter   time.Time
	Replaced   []string // config or .env files that existed and were replaced (Force)
}

// ExistsError is a file that is in the way.
type ExistsError struct {
	Path string
	What string // "private key", "certificate", "config", ".env"
	Hint string
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s %s already exists; %s", e.What, e.Path, e.Hint)
}

// ExitCode is exit.Usage: the user decides what happens to the file.
func (e *ExistsError) ExitCode() exit.Code { return exit.Usage }

// Create writes a new installation. Nothing is written unless every file can be: an existing
// key or certificate is an error, and so is an existing config or .env without Force. What
// this call created is removed again when a later step fails.
func Create(p Params) (res Result, err error) {
	l := p.Layout
	if res.Replaced, err = l.Free(p.Force); err != nil {
		return res, err
	}
	tenant := p.Tenant
	if tenant == "" {
		tenant = p.TenantID
	}
	cred, err := newCredential(p.KeyBits, "o365logfetch "+tenant, p.Now, p.Validity)
	if err != nil {
		return res, err
	}
	cfg, err := renderConfig(configValues{
		Date: p.Now.UTC().Format(time.DateOnly), Tenant: tenant, TenantID: p.TenantID, ClientID: p.ClientID,
		AuthorityHost: p.AuthorityHost, Resource: p.Resource, KeyFile: l.Key,
		Thumbprint: Thumbprint(cred.Cert), Output: l.Output, DebugLog: l.DebugLog, State: l.State,
	})
	if err != nil {
		return res, err
	}
	env, err := renderEnv(l.Config)
	if err != nil {
		return res, err
	}
	if err := os.MkdirAll(l.Dir, dirMode); err != nil {
		return res, err
	}
	var created []string
	defer func() {
		if err != nil {
			for _, f := range created {
				_ = os.Remove(f)
			}
		}
	}()
	if err = writeCredential(cred, l.Key, l.Cert, &created); err != nil {
		return res, err
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{l.Config, cfg}, {l.Env, env}} {
		if p.Force {
			err = atomicfile.WriteFile(f.path, f.data, configMode)
		} else {
			err = writeNew(f.path, f.data, configMode, &created)
		}
		if err != nil {
			return res, err
		}
	}
	return Result{Key: l.Key, Cert: l.Cert, Thumbprint: Thumbprint(cred.Cert), NotAfter: cred.Cert.NotAfter, Replaced: res.Replaced}, nil
}

// RenewParams say where the current credential is and how to make the next one.
type RenewParams struct {
	KeyFile  string // the PEM file holding the current key; "" when there is none (PFX, secret)
	Dir      string // where the new files go when KeyFile is ""
	KeepKey  bool   // sign a new certificate for the current key instead of making a new key
	KeyBits  int
	Validity time.Duration
	Now      time.Time
}

// Renew writes a new key+certificate PEM and certificate beside the current ones, named after
// them with the date (app-20261130.pem, app-20261130.cer). The current files are left alone:
// they keep working until the configuration is switched to the new ones.
func Renew(p RenewParams) (Result, error) {
	var res Result
	dir, stem := p.Dir, "app"
	if p.KeyFile != "" {
		dir = filepath.Dir(p.KeyFile)
		stem = strings.TrimSuffix(filepath.Base(p.KeyFile), filepath.Ext(p.KeyFile))
	}
	stem = dated.ReplaceAllString(stem, "") + "-" + p.Now.UTC().Format("20060102")
	keyPath, certPath := filepath.Join(dir, stem+".pem"), filepath.Join(dir, stem+".cer")
	for _, f := range []string{keyPath, certPath} {
		if found, err := exists(f); err != nil || found {
			return res, existsError(err, f, "renewed credential", "it was made by an earlier --renew-cert today: upload it, or remove it to make another")
		}
	}
	subject := "o365logfetch"
	var cred Credential
	if p.KeepKey {
		if p.KeyFile == "" {
			return res, errors.New("--keep-key needs a PEM privateKeyFile in the config; make a new key pair instead")
		}
		data, err := os.ReadFile(p.KeyFile)
		if err != nil {
			return res, err
		}
		key, cn, err := readKey(data)
		if err != nil {
			return res, fmt.Errorf("%s: %w", p.KeyFile, err)
		}
		if cn != "" {
			subject = cn
		}
		cert, err := NewCertificate(key, subject, p.Now, p.Validity)
		if err != nil {
			return res, err
		}
		cred = Credential{key, cert}
	} else {
		if p.KeyFile != "" {
			if data, err := os.ReadFile(p.KeyFile); err == nil {
				if _, cn, err := readKey(data); err == nil && cn != "" {
					subject = cn
				}
			}
		}
		var err error
		if cred, err = newCredential(p.KeyBits, subject, p.Now, p.Validity); err != nil {
			return res, err
		}
	}
	var created []string
	if err := writeCredential(cred, keyPath, certPath, &created); err != nil {
		for _, f := range created {
			_ = os.Remove(f)
		}
		return res, err
	}
	return Result{Key: keyPath, Cert: certPath, Thumbprint: Thumbprint(cred.Cert), NotAfter: cred.Cert.NotAfter}, nil
}

// dated is the date suffix a renewed file carries, so that renewing a renewed file does not
// stack dates.
var dated = regexp.MustCompile(`-[0-9]{8}$`)

func newCredential(bits int, subject string, now time.Time, validity time.Duration) (Credential, error) {
	if validity <= 0 || validity > MaxValidity {
		// Checked before the slow key generation.
		return Credential{}, fmt.Errorf("validity %s: want more than 0 and at most %d days", validity, int(MaxValidity.Hours()/24))
	}
	key, err := NewKey(bits)
	if err != nil {
		return Credential{}, err
	}
	cert, err := NewCertificate(key, subject, now, validity)
	if err != nil {
		return Credential{}, err
	}
	return Credential{key, cert}, nil
}

func writeCredential(c Credential, keyPath, certPath string, created *[]string) error {
	pemData, err := c.keyCertPEM()
	if err != nil {
		return err
	}
	if err := writeNew(keyPath, pemData, keyMode, created); err != nil {
		return err
	}
	return writeNew(certPath, c.Cert.Raw, certMode, created)
}

// writeNew creates path with data; it fails rather than replace an existing file, even one
// created since the caller looked.
func writeNew(path string, data []byte, perm os.FileMode, created *[]string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	*created = append(*created, path)
	// The umask may have narrowed perm; the key must not be wider, the rest need not be.
	if err := f.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(path))
}

// exists says whether path exists (as a link, too); an error when it cannot tell.
func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// existsError is err, or an ExistsError when there is none.
func existsError(err error, path, what, hint string) error {
	if err != nil {
		return err
	}
	return &ExistsError{path, what, hint}
}
