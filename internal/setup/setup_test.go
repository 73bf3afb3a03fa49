package setup

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joho/godotenv"

	"github.com/o365logfetch/o365logfetch/internal/config"
)

const (
	tenantID = "41463f53-8812-40f4-890f-865bf6e35190"
	clientID = "8a2d1f0e-6b7c-4d3e-9f10-1a2b3c4d5e6f"
)

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func params(t *testing.T, dir string) Params {
	t.Helper()
	l, err := NewLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	return Params{Layout: l, Tenant: "contoso.onmicrosoft.com", TenantID: tenantID, ClientID: clientID,
		AuthorityHost: "https://login.microsoftonline.us", Resource: "https://manage.office365.us",
		KeyBits: 2048, Validity: DefaultValidity, Now: now}
}

func TestCreateWritesAConfigThatLoads(t *testing.T) {
	p := params(t, filepath.Join(t.TempDir(), "new", "dir"))
	res, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	l := p.Layout
	der, err := os.ReadFile(l.Cert)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("%s is not a DER certificate: %v", l.Cert, err)
	}
	if got := Thumbprint(cert); got != res.Thumbprint || !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(got) {
		t.Errorf("thumbprint %q, result %q", got, res.Thumbprint)
	}
	if !cert.NotAfter.Equal(now.Add(DefaultValidity)) || !cert.NotBefore.Before(now) {
		t.Errorf("valid %s..%s, want from before %s to %s", cert.NotBefore, cert.NotAfter, now, now.Add(DefaultValidity))
	}

	// The key file holds the key and the same certificate.
	key, _, err := readKey(mustRead(t, l.Key))
	if err != nil {
		t.Fatal(err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) || key.N.BitLen() != 2048 {
		t.Errorf("key in %s does not match the certificate (or is not 2048 bits)", l.Key)
	}
	if !strings.Contains(string(mustRead(t, l.Key)), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))) {
		t.Errorf("%s does not hold the certificate", l.Key)
	}

	env, err := godotenv.Read(l.Env)
	if err != nil {
		t.Fatal(err)
	}
	if env["O365_MANAGEMENT_API_CONFIG"] != l.Config {
		t.Errorf(".env names config %q, want %q", env["O365_MANAGEMENT_API_CONFIG"], l.Config)
	}
	cfg, err := config.Load(env["O365_MANAGEMENT_API_CONFIG"], func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := config.Config{Tenant: p.Tenant, TenantID: tenantID, ClientID: clientID, AuthorityHost: p.AuthorityHost,
		Resource: p.Resource, APIRoot: p.Resource + "/api/v1.0/" + tenantID + "/activity/feed",
		PrivateKeyFile: l.Key, Thumbprint: res.Thumbprint, AutoStart: true,
		BaseLogDir: l.Output, DebugLogDir: l.DebugLog, StateDir: l.State}
	got := config.Config{Tenant: cfg.Tenant, TenantID: cfg.TenantID, ClientID: cfg.ClientID, AuthorityHost: cfg.AuthorityHost,
		Resource: cfg.Resource, APIRoot: cfg.APIRoot, PrivateKeyFile: cfg.PrivateKeyFile, Thumbprint: cfg.Thumbprint,
		AutoStart: cfg.AutoStart, BaseLogDir: cfg.BaseLogDir, DebugLogDir: cfg.DebugLogDir, StateDir: cfg.StateDir}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config loads as\n%+v\nwant\n%+v", got, want)
	}
	if len(cfg.ContentTypes) != 5 {
		t.Errorf("content types %v, want all five", cfg.ContentTypes)
	}

	if runtime.GOOS != "windows" {
		for path, mode := range map[string]os.FileMode{l.Key: 0o600, l.Cert: 0o644, l.Config: 0o640, l.Env: 0o640} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != mode {
				t.Errorf("%s has mode %o, want %o", filepath.Base(path), fi.Mode().Perm(), mode)
			}
		}
	}
}

func TestCreateNeverReplacesTheKey(t *testing.T) {
	p := params(t, t.TempDir())
	if _, err := Create(p); err != nil {
		t.Fatal(err)
	}
	before := mustRead(t, p.Layout.Key)
	for _, force := range []bool{false, true} {
		p.Force = force
		_, err := Create(p)
		var ee *ExistsError
		if !errors.As(err, &ee) || ee.Path != p.Layout.Key || !strings.Contains(err.Error(), "--renew-cert") {
			t.Errorf("force=%v: second Create: %v, want the key named as existing", force, err)
		}
	}
	if string(mustRead(t, p.Layout.Key)) != string(before) {
		t.Error("the key file changed")
	}
}

func TestCreateReplacesConfigOnlyWithForce(t *testing.T) {
	p := params(t, t.TempDir())
	if err := os.WriteFile(p.Layout.Config, []byte("# mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Create(p)
	var ee *ExistsError
	if !errors.As(err, &ee) || ee.Path != p.Layout.Config || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("Create over a config: %v, want an error naming it and --force", err)
	}
	for _, f := range []string{p.Layout.Key, p.Layout.Cert, p.Layout.Env} {
		if found, _ := exists(f); found {
			t.Errorf("%s written although the config was in the way", f)
		}
	}
	p.Force = true
	res, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Replaced, []string{p.Layout.Config}) {
		t.Errorf("replaced %v, want the config", res.Replaced)
	}
	if !strings.Contains(string(mustRead(t, p.Layout.Config)), res.Thumbprint) {
		t.Error("config not replaced")
	}
}

func TestCreateRejectsBadParams(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*Params)
		want string
	}{
		{"key size", func(p *Params) { p.KeyBits = 1024 }, "2048, 3072 or 4096"},
		{"no validity", func(p *Params) { p.Validity = 0 }, "validity"},
		{"validity too long", func(p *Params) { p.Validity = MaxValidity + time.Hour }, "at most"},
		{"line break in a value", func(p *Params) { p.Tenant = "contoso\n[x]" }, "line break"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := params(t, t.TempDir())
			tt.edit(&p)
			if _, err := Create(p); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Create: %v, want %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(p.Layout.Dir); len(entries) != 0 {
				t.Errorf("files left behind: %v", entries)
			}
		})
	}
}

// Paths are written so that the loader reads them back: spaces, '%' (interpolation), ';' and
// '#' (no inline comments), backslashes and quotes.
func TestCreatePathsRoundTrip(t *testing.T) {
	for _, name := range []string{"plain", "with space", "100% audit", "a;b#c", `back\slash`, `quote"d`, "o'brien $HOME", "ünïcode"} {
		t.Run(name, func(t *testing.T) {
			if runtime.GOOS == "windows" && strings.ContainsAny(name, `\"`) {
				t.Skip("not a file name on Windows")
			}
			p := params(t, filepath.Join(t.TempDir(), name))
			if _, err := Create(p); err != nil {
				t.Fatal(err)
			}
			env, err := godotenv.Read(p.Layout.Env)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(env["O365_MANAGEMENT_API_CONFIG"], func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			l := p.Layout
			if cfg.File != l.Config || cfg.PrivateKeyFile != l.Key || cfg.BaseLogDir != l.Output || cfg.DebugLogDir != l.DebugLog || cfg.StateDir != l.State {
				t.Errorf("read back %q %q %q %q %q\nwant %q %q %q %q %q", cfg.File, cfg.PrivateKeyFile, cfg.BaseLogDir, cfg.DebugLogDir, cfg.StateDir,
					l.Config, l.Key, l.Output, l.DebugLog, l.State)
			}
		})
	}
}

func TestNewLayoutJoinsWithTheOSSeparator(t *testing.T) {
	rel := filepath.Join("o365", "conf")
	l, err := NewLayout(rel)
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if l.Dir != filepath.Join(wd, rel) || !filepath.IsAbs(l.Dir) {
		t.Errorf("Dir %q, want %q", l.Dir, filepath.Join(wd, rel))
	}
	for _, p := range []string{l.Config, l.Env, l.Key, l.Cert, l.Output, l.DebugLog, l.State} {
		if filepath.Dir(p) != l.Dir {
			t.Errorf("%q is not directly under %q", p, l.Dir)
		}
		if os.PathSeparator != '/' && strings.Contains(p, "/") {
			t.Errorf("%q mixes separators", p)
		}
	}
	trailing, err := NewLayout(rel + string(os.PathSeparator))
	if err != nil || trailing != l {
		t.Errorf("a trailing separator changes the layout: %+v", trailing)
	}
}

func TestRenew(t *testing.T) {
	p := params(t, t.TempDir())
	first, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	oldKey, _, _ := readKey(mustRead(t, first.Key))
	oldPEM := mustRead(t, first.Key)
	later := now.Add(700 * 24 * time.Hour)
	for _, tt := range []struct {
		name    string
		keyFile string
		keep    bool
		want    string // file name of the new key file
	}{
		{"same key", first.Key, true, "app-20281030.pem"},
		{"new key from a renewed file", filepath.Join(p.Layout.Dir, "app-20281030.pem"), false, "app-20281031.pem"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Renew(RenewParams{KeyFile: tt.keyFile, KeepKey: tt.keep, KeyBits: 2048, Validity: DefaultValidity, Now: later})
			if err != nil {
				t.Fatal(err)
			}
			later = later.Add(24 * time.Hour)
			if filepath.Base(res.Key) != tt.want || filepath.Dir(res.Key) != p.Layout.Dir ||
				res.Cert != strings.TrimSuffix(res.Key, ".pem")+".cer" {
				t.Errorf("renewed into %s and %s, want %s beside the old", res.Key, res.Cert, tt.want)
			}
			key, cn, err := readKey(mustRead(t, res.Key))
			if err != nil {
				t.Fatal(err)
			}
			if key.Equal(oldKey) != tt.keep {
				t.Errorf("same key %v, want %v", key.Equal(oldKey), tt.keep)
			}
			if cn != "o365logfetch contoso.onmicrosoft.com" {
				t.Errorf("subject %q, want the old certificate's", cn)
			}
			if res.Thumbprint == first.Thumbprint || !res.NotAfter.After(first.NotAfter) {
				t.Errorf("renewed certificate %s until %s, old %s until %s", res.Thumbprint, res.NotAfter, first.Thumbprint, first.NotAfter)
			}
			if runtime.GOOS != "windows" {
				if fi, _ := os.Stat(res.Key); fi.Mode().Perm() != 0o600 {
					t.Errorf("renewed key mode %o", fi.Mode().Perm())
				}
			}
		})
	}
	if string(mustRead(t, first.Key)) != string(oldPEM) {
		t.Error("the old key file changed")
	}
	_, err = Renew(RenewParams{KeyFile: first.Key, KeepKey: true, KeyBits: 2048, Validity: DefaultValidity, Now: now.Add(700 * 24 * time.Hour)})
	var ee *ExistsError
	if !errors.As(err, &ee) {
		t.Errorf("a second renewal on the same day: %v, want ExistsError", err)
	}
	if _, err := Renew(RenewParams{Dir: p.Layout.Dir, KeepKey: true, KeyBits: 2048, Validity: DefaultValidity, Now: now}); err == nil {
		t.Error("--keep-key without a key file succeeded")
	}
}

func TestReadKey(t *testing.T) {
	rsaKey, err := NewKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	enc := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	for _, tt := range []struct {
		name string
		data []byte
		want string // error part; "" = the RSA key is read
	}{
		{"PKCS#1 after a BOM", append([]byte("\xef\xbb\xbf"), enc("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))...), ""},
		{"encrypted PKCS#8", enc("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}), "encrypted"},
		{"EC key", enc("PRIVATE KEY", ecDER), "RSA"},
		{"garbage", []byte("not a key"), "no RSA private key"},
		{"broken DER", enc("PRIVATE KEY", []byte{0x30, 0x03, 1}), "private key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key, _, err := readKey(tt.data)
			switch {
			case tt.want == "" && (err != nil || !key.Equal(rsaKey)):
				t.Errorf("readKey: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("readKey: %v, want %q", err, tt.want)
			}
		})
	}
}

// The written config has the keys of the repository's example, in the same sections, so the
// README's description of the example holds for it.
func TestConfigTemplateMatchesExample(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "o365_logs.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := renderConfig(configValues{Tenant: "t.example", TenantID: tenantID, ClientID: clientID,
		AuthorityHost: "https://a.example", Resource: "https://r.example", KeyFile: "k", Thumbprint: "T", Output: "o", DebugLog: "d", State: "s"})
	if err != nil {
		t.Fatal(err)
	}
	want, got := iniKeys(string(example)), iniKeys(string(rendered))
	if !slices.Equal(got, want) {
		t.Errorf("template keys\n%v\nexample keys\n%v", got, want)
	}
	// The optional knobs are written with the example's values and comments: a default that
	// changes in one place (initialLookback, say) must change in both.
	if g, w := section(string(rendered), "[FETCH]"), section(string(example), "[FETCH]"); g != w {
		t.Errorf("template [FETCH] section\n%s\nexample [FETCH] section\n%s", g, w)
	}
}

// section is the text of an INI section, from its header to the next header or the end.
func section(text, header string) string {
	_, rest, ok := strings.Cut(text, "\n"+header+"\n")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, "\n["); i >= 0 {
		rest = rest[:i]
	}
	return strings.TrimSpace(rest)
}

// iniKeys lists "[section] key" for every key, commented-out ones included.
func iniKeys(text string) []string {
	keyRE := regexp.MustCompile(`^#?\s*([A-Za-z][A-Za-z0-9]*) =`)
	var keys []string
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = line
			continue
		}
		if m := keyRE.FindStringSubmatch(line); m != nil {
			keys = append(keys, section+" "+strings.ToLower(m[1]))
		}
	}
	return keys
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Windows paths are written as they are: backslashes kept (the loader has no backslash
// continuation or escapes), '%' doubled for interpolation, and the .env value single-quoted so
// that godotenv keeps "\n" in "C:\new" as two characters.
func TestWindowsPathsAreWrittenLiterally(t *testing.T) {
	const dir = `C:\ProgramData\100%\new o365`
	cfg, err := renderConfig(configValues{Tenant: "t.example", TenantID: tenantID, ClientID: clientID, AuthorityHost: "https://a.example",
		Resource: "https://r.example", KeyFile: dir + `\app.pem`, Thumbprint: "T", Output: dir + `\logs`, DebugLog: dir + `\debug`, State: dir + `\state`})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`privateKeyFile = C:\ProgramData\100%%\new o365\app.pem`,
		`baseLogLocation = C:\ProgramData\100%%\new o365\logs`,
		`timeKeeperLocation = C:\ProgramData\100%%\new o365\state`,
	} {
		if !strings.Contains(string(cfg), "\n"+line+"\n") {
			t.Errorf("config lacks the line %s", line)
		}
	}
	env, err := renderEnv(dir + `\o365_logs.cfg`)
	if err != nil {
		t.Fatal(err)
	}
	vars, err := godotenv.Unmarshal(string(env))
	if err != nil {
		t.Fatal(err)
	}
	if got := vars["O365_MANAGEMENT_API_CONFIG"]; got != dir+`\o365_logs.cfg` {
		t.Errorf(".env reads back %q", got)
	}
	for _, path := range []string{`C:\Users\O'Brien\$HOME "x"\new\o365_logs.cfg`, "/home/o'brien/${HOME}/o365_logs.cfg"} {
		env, err := renderEnv(path)
		if err != nil {
			t.Fatal(err)
		}
		if vars, err := godotenv.Unmarshal(string(env)); err != nil || vars["O365_MANAGEMENT_API_CONFIG"] != path {
			t.Errorf(".env reads %q back as %q (%v)", path, vars["O365_MANAGEMENT_API_CONFIG"], err)
		}
	}
}
