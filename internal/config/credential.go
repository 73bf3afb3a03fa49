package config

import (
	"bytes"
	"net/url"
	"os"
	"strings"

	"github.com/o365logfetch/o365logfetch/internal/localfs"
)

// Credential kinds.
const (
	CredentialPEM    = "pem"    // privateKeyFile (+ certificateFile or thumbprint)
	CredentialPFX    = "pfx"    // pfxFile (+ pfxPasswordEnv or pfxPasswordFile)
	CredentialSecret = "secret" // clientSecretEnv, clientSecretFile or O365_CLIENT_SECRET
)

// EnvClientSecret is read when no other credential is configured.
const EnvClientSecret = "O365_CLIENT_SECRET"

// Secret is a value that must not be printed: every way of formatting or
// logging it yields a mask, and only Value reveals it.
type Secret struct{ v string }

// NewSecret wraps v.
func NewSecret(v string) Secret { return Secret{v} }

// Value is the secret itself, for the one place that sends it.
func (s Secret) Value() string { return s.v }

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s.v != "" }

func (s Secret) String() string {
	if s.v == "" {
		return ""
	}
	return "********"
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return "config.Secret{" + s.String() + "}" }

// MarshalText keeps encoders (JSON, slog) from printing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Cloud is the endpoint set of one Microsoft cloud.
type Cloud struct {
	Name          string
	AuthorityHost string
	Resource      string // the API root is Resource + /api/v1.0/{tenant}/activity/feed
}

// Clouds are the presets of the cloud key, per Microsoft's endpoint table.
var Clouds = []Cloud{
	{"Enterprise", "https://login.microsoftonline.com", "https://manage.office.com"},
	{"GCC", "https://login.microsoftonline.com", "https://manage-gcc.office.com"},
	{"GCCHigh", "https://login.microsoftonline.us", "https://manage.office365.us"},
	{"DoD", "https://login.microsoftonline.us", "https://manage.protection.apps.mil"},
}

// loadCloud reads the cloud key and returns its preset; Enterprise when
// absent, so files without the key keep their meaning.
func (l *loader) loadCloud(c *Config) Cloud {
	v, ok := l.value(secAPI, "cloud")
	if !ok {
		return Clouds[0]
	}
	if cl, ok := CloudNamed(v); ok {
		c.Cloud = cl.Name
		return cl
	}
	l.fail(secAPI, "cloud", "must be Enterprise, GCC, GCCHigh or DoD, got %q", v)
	return Clouds[0]
}

// CloudNamed finds the preset called name. Case, spaces, '-' and '_' do not matter:
// "GCC High", "gcc-high" and "GCCHigh" are all the same cloud.
func CloudNamed(name string) (Cloud, bool) {
	norm := strings.NewReplacer(" ", "", "-", "", "_", "").Replace(strings.ToLower(strings.TrimSpace(name)))
	for _, cl := range Clouds {
		if strings.ToLower(cl.Name) == norm {
			return cl, true
		}
	}
	return Cloud{}, false
}

// credentialKeys names every key that configures a credential, for messages.
const credentialKeys = "privateKeyFile (PEM key, with certificateFile or thumbprint), pfxFile (PKCS#12), " +
	"or a client secret (clientSecretEnv, clientSecretFile, or the " + EnvClientSecret + " environment variable)"

// loadCredential finds exactly one configured credential kind and reads
// the secrets it needs. Secrets come from the environment or from files,
// never from the config file itself: it is often world-readable and
// copied around.
func (l *loader) loadCredential(c *Config, getenv func(string) string) {
	type kind struct{ name, key string }
	var kinds []kind
	keyFile, hasKey := l.value(secAPI, "privateKeyFile")
	if hasKey {
		kinds = append(kinds, kind{CredentialPEM, "privateKeyFile"})
	}
	pfx, hasPFX := l.value(secAPI, "pfxFile")
	if hasPFX {
		kinds = append(kinds, kind{CredentialPFX, "pfxFile"})
	}
	_, hasSecretEnv := l.value(secAPI, "clientSecretEnv")
	_, hasSecretFile := l.value(secAPI, "clientSecretFile")
	envSecret := getenv(EnvClientSecret) != ""
	switch {
	case hasSecretEnv && hasSecretFile:
		l.fail(secAPI, "clientSecretFile", "set either clientSecretEnv or clientSecretFile, not both")
		return
	case hasSecretEnv:
		kinds = append(kinds, kind{CredentialSecret, "clientSecretEnv"})
	case hasSecretFile:
		kinds = append(kinds, kind{CredentialSecret, "clientSecretFile"})
	case envSecret:
		kinds = append(kinds, kind{CredentialSecret, "environment variable " + EnvClientSecret})
	}
	if l.failedOn(secAPI, "privateKeyFile") || l.failedOn(secAPI, "pfxFile") {
		return
	}
	switch len(kinds) {
	case 0:
		l.fail(secAPI, "privateKeyFile", "missing; configure one credential: %s", credentialKeys)
		return
	case 1:
	default:
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = k.key
		}
		l.fail(secAPI, "", "%s are all set; configure exactly one credential: %s", strings.Join(names, " and "), credentialKeys)
		return
	}
	c.Credential = kinds[0].name

	certFile, hasCert := l.value(secAPI, "certificateFile")
	if hasCert && c.Credential != CredentialPEM {
		l.fail(secAPI, "certificateFile", "belongs to privateKeyFile; remove it (a PFX holds its certificate, a client secret needs none)")
	}
	if c.Thumbprint != "" && c.Credential == CredentialSecret {
		l.fail(secAPI, "thumbprint", "belongs to a certificate credential; remove it when using a client secret")
	}
	switch c.Credential {
	case CredentialPEM:
		c.PrivateKeyFile = l.keyPath(secAPI, "privateKeyFile", keyFile)
		if hasCert {
			c.CertificateFile = l.keyPath(secAPI, "certificateFile", certFile)
		}
	case CredentialPFX:
		c.PFXFile = l.keyPath(secAPI, "pfxFile", pfx)
		c.PFXPassword, c.SecretSource = l.secret(getenv, "pfxPasswordEnv", "pfxPasswordFile", "", true)
	case CredentialSecret:
		c.ClientSecret, c.SecretSource = l.secret(getenv, "clientSecretEnv", "clientSecretFile", EnvClientSecret, false)
	}
}

// secret reads a secret from the environment variable named by envKey or
// from the file named by fileKey (fallbackEnv when neither is set). An
// empty secret is an error unless emptyOK (a PFX may have no password).
func (l *loader) secret(getenv func(string) string, envKey, fileKey, fallbackEnv string, emptyOK bool) (Secret, string) {
	name, hasEnv := l.value(secAPI, envKey)
	file, hasFile := l.value(secAPI, fileKey)
	switch {
	case hasEnv && hasFile:
		l.fail(secAPI, fileKey, "set either %s or %s, not both", envKey, fileKey)
		return Secret{}, ""
	case hasFile:
		path := l.keyPath(secAPI, fileKey, file)
		data, err := os.ReadFile(path)
		if err != nil {
			l.fail(secAPI, fileKey, "%s: %s", path, localfs.ReadProblem(err, "point "+fileKey+" at the file that holds the secret"))
			return Secret{}, ""
		}
		// Editors add a BOM and a final newline; neither is part of a secret.
		v := strings.TrimSpace(string(bytes.TrimPrefix(data, []byte("\ufeff"))))
		if v == "" && !emptyOK {
			l.fail(secAPI, fileKey, "%s is empty; put the secret in it", path)
		}
		return Secret{v}, "file " + path
	case hasEnv:
		v := getenv(name)
		if v == "" && !emptyOK {
			l.fail(secAPI, envKey, "environment variable %s is not set or empty; set it (in the service's environment or .env) to the secret", name)
		}
		return Secret{v}, "environment variable " + name
	case fallbackEnv != "":
		return Secret{getenv(fallbackEnv)}, "environment variable " + fallbackEnv
	}
	return Secret{}, ""
}

// loadProxy reads the proxy key: it overrides HTTPS_PROXY and NO_PROXY for
// Azure AD and the API alike.
func (l *loader) loadProxy(c *Config) {
	v, ok := l.value(secAPI, "proxy")
	if !ok {
		return
	}
	u, err := url.Parse(strings.TrimRight(v, "/"))
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		l.fail(secAPI, "proxy", "must be a URL like http://proxy.example.com:3128, got %q", redactURL(v))
	case u.Scheme != "http" && u.Scheme != "https":
		l.fail(secAPI, "proxy", "must start with http:// or https:// (the proxy's own scheme), got %q", redactURL(v))
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "":
		l.fail(secAPI, "proxy", "must be just scheme://[user:password@]host:port, got %q", redactURL(v))
	default:
		c.Proxy = u.String()
	}
}

// redactURL masks the password of a URL with userinfo.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if _, after, found := strings.Cut(s, "@"); found {
			return "…@" + after // whatever precedes @ may be a password
		}
		return s
	}
	if u.User == nil {
		return s
	}
	return u.Redacted()
}

func maskedFrom(s Secret, source string) string {
	if !s.IsSet() {
		return "(empty) from " + source
	}
	return s.String() + " from " + source
}
