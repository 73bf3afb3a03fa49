package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withoutKey is minimal with no credential at all.
var withoutKey = strings.Replace(minimal, "privateKeyFile = /o365/etc/key.pem\n", "", 1)

func TestCloudPresets(t *testing.T) {
	const tenant = "41463f53-8812-40f4-890f-865bf6e35190"
	tests := []struct {
		name, lines                     string
		cloud, authority, resource, api string
	}{
		{"no key is Enterprise", "", "", "https://login.microsoftonline.com", "https://manage.office.com", "https://manage.office.com"},
		{"Enterprise", "cloud = Enterprise", "Enterprise", "https://login.microsoftonline.com", "https://manage.office.com", "https://manage.office.com"},
		{"GCC", "cloud = gcc", "GCC", "https://login.microsoftonline.com", "https://manage-gcc.office.com", "https://manage-gcc.office.com"},
		{"GCC High spelled with a space", "cloud = GCC High", "GCCHigh", "https://login.microsoftonline.us", "https://manage.office365.us", "https://manage.office365.us"},
		{"GCCHigh", "cloud = GCCHigh", "GCCHigh", "https://login.microsoftonline.us", "https://manage.office365.us", "https://manage.office365.us"},
		{"DoD", "cloud = DoD", "DoD", "https://login.microsoftonline.us", "https://manage.protection.apps.mil", "https://manage.protection.apps.mil"},
		{"explicit resource wins over the preset", "cloud = DoD\nresource = https://example.us", "DoD", "https://login.microsoftonline.us", "https://example.us", "https://example.us"},
		{"explicit authority wins over the preset", "cloud = GCCHigh\nauthorityHostUrl = https://login.example.us/", "GCCHigh", "https://login.example.us", "https://manage.office365.us", "https://manage.office365.us"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, minimal+"[API_SETTINGS]\n"+tt.lines+"\n"), nil)
			if err != nil {
				t.Fatal(err)
			}
			wantRoot := tt.api + "/api/v1.0/" + tenant + "/activity/feed"
			if c.Cloud != tt.cloud || c.AuthorityHost != tt.authority || c.Resource != tt.resource || c.APIRoot != wantRoot {
				t.Errorf("cloud %q authority %q resource %q root %q\nwant %q %q %q %q", c.Cloud, c.AuthorityHost, c.Resource, c.APIRoot,
					tt.cloud, tt.authority, tt.resource, wantRoot)
			}
		})
	}
	_, err := Load(writeConfig(t, minimal+"[API_SETTINGS]\ncloud = China\n"), nil)
	wantConfigError(t, err, "API_SETTINGS", "cloud", "Enterprise, GCC, GCCHigh or DoD")
}

func TestCredentialKinds(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(secretFile, []byte("\ufeffs3cr3t-from-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(dir, "pfx.pw")
	if err := os.WriteFile(pwFile, []byte("pfx-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		lines  string
		env    map[string]string
		kind   string
		secret string // ClientSecret or PFXPassword
		source string
		errKey string // non-empty: a config error on this key is expected
		errMsg string
	}{
		{name: "pem key", lines: "privateKeyFile = key.pem", kind: CredentialPEM},
		{name: "pfx without password", lines: "pfxFile = app.pfx", kind: CredentialPFX},
		{name: "pfx password from env", lines: "pfxFile = app.pfx\npfxPasswordEnv = PFX_PW", env: map[string]string{"PFX_PW": "pw"}, kind: CredentialPFX, secret: "pw", source: "environment variable PFX_PW"},
		{name: "pfx password from file", lines: "pfxFile = app.pfx\npfxPasswordFile = " + pwFile, kind: CredentialPFX, secret: "pfx-pw", source: "file " + pwFile},
		{name: "secret from named env", lines: "clientSecretEnv = MY_SECRET", env: map[string]string{"MY_SECRET": "abc"}, kind: CredentialSecret, secret: "abc", source: "environment variable MY_SECRET"},
		{name: "secret from file, BOM and CRLF trimmed", lines: "clientSecretFile = " + secretFile, kind: CredentialSecret, secret: "s3cr3t-from-file", source: "file " + secretFile},
		{name: "secret from O365_CLIENT_SECRET", env: map[string]string{"O365_CLIENT_SECRET": "xyz"}, kind: CredentialSecret, secret: "xyz", source: "environment variable O365_CLIENT_SECRET"},

		{name: "none", errKey: "privateKeyFile", errMsg: "pfxFile"},
		{name: "pem and pfx", lines: "privateKeyFile = key.pem\npfxFile = app.pfx", errMsg: "privateKeyFile and pfxFile are all set"},
		{name: "pem and O365_CLIENT_SECRET", lines: "privateKeyFile = key.pem", env: map[string]string{"O365_CLIENT_SECRET": "xyz"}, errMsg: "O365_CLIENT_SECRET"},
		{name: "secret env and file", lines: "clientSecretEnv = X\nclientSecretFile = " + secretFile, errKey: "clientSecretFile", errMsg: "not both"},
		{name: "named env unset", lines: "clientSecretEnv = MY_SECRET", errKey: "clientSecretEnv", errMsg: "MY_SECRET is not set"},
		{name: "secret file missing", lines: "clientSecretFile = nope.txt", errKey: "clientSecretFile", errMsg: "no such file"},
		{name: "secret file empty", lines: "clientSecretFile = " + empty, errKey: "clientSecretFile", errMsg: "empty"},
		{name: "certificateFile with pfx", lines: "pfxFile = app.pfx\ncertificateFile = c.pem", errKey: "certificateFile", errMsg: "belongs to privateKeyFile"},
		{name: "thumbprint with secret", lines: "clientSecretEnv = S\nthumbprint = 3F2A4B5C6D7E8F9012345678901234567890ABCD", env: map[string]string{"S": "x"}, errKey: "thumbprint", errMsg: "client secret"},
		{name: "pfx password env and file", lines: "pfxFile = a.pfx\npfxPasswordEnv = P\npfxPasswordFile = " + pwFile, errKey: "pfxPasswordFile", errMsg: "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, withoutKey+"[API_SETTINGS]\n"+tt.lines+"\n")
			c, err := Load(path, env(tt.env))
			if tt.errMsg != "" || tt.errKey != "" {
				if tt.errKey != "" {
					wantConfigError(t, err, "API_SETTINGS", tt.errKey, tt.errMsg)
				} else if err == nil || !strings.Contains(err.Error(), tt.errMsg) {
					t.Fatalf("error %v, want one containing %q", err, tt.errMsg)
				}
				for _, v := range tt.env {
					if strings.Contains(err.Error(), v) {
						t.Errorf("error reveals the secret %q: %v", v, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := c.ClientSecret
			if tt.kind == CredentialPFX {
				got = c.PFXPassword
			}
			if c.Credential != tt.kind || got.Value() != tt.secret || c.SecretSource != tt.source {
				t.Errorf("kind %q secret %q source %q, want %q %q %q", c.Credential, got.Value(), c.SecretSource, tt.kind, tt.secret, tt.source)
			}
			dirOf := filepath.Dir(path)
			if tt.kind == CredentialPFX && c.PFXFile != filepath.Join(dirOf, "app.pfx") {
				t.Errorf("pfxFile %q not resolved against the config directory", c.PFXFile)
			}
			if tt.secret != "" && strings.Contains(c.Redacted(), tt.secret) {
				t.Errorf("Redacted reveals the secret:\n%s", c.Redacted())
			}
		})
	}
}

func TestSecretNeverFormats(t *testing.T) {
	s := NewSecret("hunter2")
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %s %+v %#v %q", s, s, s, s, s), fmt.Sprintf("%v", struct{ S Secret }{s})} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("formatted secret reveals it: %s", out)
		}
	}
	if b, _ := s.MarshalText(); strings.Contains(string(b), "hunter2") {
		t.Errorf("MarshalText reveals it")
	}
}

func TestProxy(t *testing.T) {
	tests := []struct {
		name, value, want, errMsg string
	}{
		{"http proxy", "http://proxy.example.com:3128", "http://proxy.example.com:3128", ""},
		{"trailing slash", "http://127.0.0.1:8080/", "http://127.0.0.1:8080", ""},
		{"with credentials", "http://user:pa55@proxy:3128", "http://user:pa55@proxy:3128", ""},
		{"socks refused", "socks5://proxy:1080", "", "http:// or https://"},
		{"no scheme", "proxy:3128", "", "must be a URL"},
		{"path refused", "http://proxy:3128/x", "", "scheme://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, minimal+"[API_SETTINGS]\nproxy = "+tt.value+"\n"), nil)
			if tt.errMsg != "" {
				wantConfigError(t, err, "API_SETTINGS", "proxy", tt.errMsg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Proxy != tt.want {
				t.Errorf("proxy %q, want %q", c.Proxy, tt.want)
			}
			if strings.Contains(c.Redacted(), "pa55") {
				t.Errorf("Redacted reveals the proxy password:\n%s", c.Redacted())
			}
		})
	}
}

func wantConfigError(t *testing.T, err error, section, key, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want *Error", err)
	}
	for _, err := range flatten(err) {
		if errors.As(err, &e) && e.Section == section && e.Key == key && strings.Contains(e.Msg, msg) {
			return
		}
	}
	t.Fatalf("error %v, want [%s] %s containing %q", err, section, key, msg)
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
