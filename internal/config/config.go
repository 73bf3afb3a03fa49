// Package config reads o365_logs.cfg, the INI file of the original Python
// collector, into a validated Config. Existing files load unchanged: keys
// are case-insensitive and %(name)s references expand exactly as with
// Python's ConfigParser. Everything added since lives in the optional
// [FETCH] section, whose keys all have defaults.
//
// Relative paths: privateKeyFile and certificateFile are resolved against
// the directory of the config file (they sit next to it in practice);
// baseLogLocation, debugLogLocation and timeKeeperLocation against the
// working directory of the process, as the Python tool did. All of them
// come out absolute.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/o365logfetch/o365logfetch/internal/exit"
	"github.com/o365logfetch/o365logfetch/internal/localfs"
)

// Config is the effective configuration of one run.
type Config struct {
	File string // the config path that was loaded

	// [API_SETTINGS]
	Tenant          string // tenant domain or GUID used in the authority; default TenantID
	TenantID        string // GUID: API URL and PublisherIdentifier
	ClientID        string // GUID of the app registration
	AuthorityHost   string // https://host[:port], no trailing slash
	Resource        string // https URL, no trailing slash; token scope is Resource + "/.default"
	APIRoot         string // activityApiRoot, no trailing slash
	PublisherID     string // publisherIdentifier; default TenantID
	Cloud           string // Enterprise, GCC, GCCHigh, DoD, or "" (no preset named)
	Proxy           string // proxy URL for Azure AD and the API, or "" (HTTPS_PROXY/NO_PROXY apply)
	PrivateKeyFile  string // absolute path; existence is checked by auth
	CertificateFile string // absolute path or ""
	Thumbprint      string // 40 uppercase hex digits or ""
	AutoStart       bool   // autoStartSubscriptions

	// Exactly one credential kind is configured: PrivateKeyFile (PEM),
	// PFXFile (PKCS#12) or ClientSecret.
	Credential   string // CredentialPEM, CredentialPFX or CredentialSecret
	PFXFile      string // absolute path or ""
	PFXPassword  Secret // from the env var named by pfxPasswordEnv or from pfxPasswordFile; may be empty
	ClientSecret Secret // from clientSecretEnv, clientSecretFile or O365_CLIENT_SECRET
	// SecretSource says where PFXPassword or ClientSecret came from, for
	// messages: "environment variable X" or "file P".
	SecretSource string

	ContentTypes []string // canonical casing, de-duplicated, in file order; at least one
	// FileNames maps a content type to the name of its output file (without .log) as the
	// user spelled the type in [ContentTypes]: the old tool named its files that way, and a
	// forwarder tails them by name. Use OutputName.
	FileNames map[string]string

	// [LOGGING]
	BaseLogDir  string
	DebugLogDir string // default BaseLogDir; env O365_DEBUG_LOG_LOCATION wins
	StateDir    string // timeKeeperLocation
	LogLevel    slog.Level

	// [FETCH]
	Workers           int           // download concurrency
	InitialLookback   time.Duration // how far back the first run of a content type starts
	Overlap           time.Duration // trailing window re-listed every run
	RequestsPerMinute int           // client-side pacing
	RecordHorizon     time.Duration // how long written record Ids are remembered; 0 = record dedup off
	MaxRecordBytes    int           // a single record larger than this fails its blob (a broken or hostile answer)
	MinFreeSpaceMB    int           // a run warns when the output or state filesystem has less free (0: never)
}

// OutputName is the name of ct's output file without .log: the content type as the user
// spelled it in [ContentTypes] (any casing of one of the five), else the canonical name.
func (c *Config) OutputName(ct string) string {
	if name := c.FileNames[ct]; name != "" {
		return name
	}
	return ct
}

// Error is every problem with the configuration (the CLI maps it to exit
// code 2). Section and Key are empty when the problem is the whole file;
// File is empty when the value came from the environment.
type Error struct {
	File, Section, Key, Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Section != "" {
		b.WriteString("[" + e.Section + "]")
		if e.Key == "" {
			b.WriteString(":")
		}
		b.WriteString(" ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ExitCode is exit.Usage.
func (e *Error) ExitCode() exit.Code { return exit.Usage }

// Section names as the Python tool writes them.
const (
	secAPI      = "API_SETTINGS"
	secContent  = "ContentTypes"
	secLogging  = "LOGGING"
	secFetch    = "FETCH"
	envDebugDir = "O365_DEBUG_LOG_LOCATION"
	envLevel    = "O365_LOG_LEVEL"
	envConfig   = "O365_MANAGEMENT_API_CONFIG"
)

// Defaults of optional keys.
const (
	DefaultAuthorityHost     = "https://login.microsoftonline.com"
	DefaultResource          = "https://manage.office.com"
	DefaultWorkers           = 8
	DefaultInitialLookback   = 22 * time.Hour // with the default overlap, the first listing is one 23-hour window
	DefaultOverlap           = time.Hour
	DefaultRequestsPerMinute = 1200
	DefaultRecordHorizon     = 24 * time.Hour
	DefaultMaxRecordBytes    = 16 << 20
	DefaultMinFreeSpaceMB    = 1024
)

// Load reads and validates the file at path. getenv supplies environment
// values (O365_DEBUG_LOG_LOCATION, O365_LOG_LEVEL) with .env already merged
// in; nil means an empty environment. Every problem found is returned, each
// as an *Error (joined with errors.Join when there are several).
func Load(path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: localfs.ReadProblem(err, "choose the configuration with --config or "+envConfig)}
	}
	f, err := parseINI(data)
	if err != nil {
		return nil, &Error{File: path, Msg: "not an INI file ConfigParser could read: " + err.Error()}
	}
	l := &loader{file: path, f: f}
	c := l.load(getenv)
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	return c, nil
}

type loader struct {
	file string
	f    *iniFile
	errs []error
}

func (l *loader) fail(section, key, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: l.file, Section: section, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// value returns the interpolated, trimmed value of key (spelled as the
// Python template spells it; matched case-insensitively).
func (l *loader) value(sec, key string) (string, bool) {
	s := l.f.lookup(sec)
	v, ok, err := l.f.interpolated(s, key)
	if err != nil {
		l.fail(sec, key, "%s", describeInterpolation(err, sec))
		return "", false
	}
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (l *loader) required(sec, key, what string) string {
	v, ok := l.value(sec, key)
	if !ok && !l.failedOn(sec, key) {
		l.fail(sec, key, "missing; set it to %s", what)
	}
	return v
}

func (l *loader) failedOn(sec, key string) bool {
	for _, err := range l.errs {
		var e *Error
		if errors.As(err, &e) && e.Section == sec && e.Key == key {
			return true
		}
	}
	return false
}

func (l *loader) load(getenv func(string) string) *Config {
	c := &Config{File: l.file}
	l.loadAPI(c, getenv)
	l.loadContentTypes(c)
	l.loadLogging(c, getenv)
	l.loadFetch(c)
	return c
}

var guidRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// domainRE is a DNS name with at least one dot: the tenant ends up in the
// authority URL path, so nothing else may pass.
var domainRE = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)

// IsGUID reports whether s is a GUID as tenantId and clientId take it.
func IsGUID(s string) bool { return guidRE.MatchString(s) }

// IsTenant reports whether s is what the tenant key takes: the tenant GUID or a domain.
func IsTenant(s string) bool { return guidRE.MatchString(s) || domainRE.MatchString(s) }

func (l *loader) guid(sec, key, what string) string {
	v := l.required(sec, key, what)
	if v != "" && !guidRE.MatchString(v) {
		l.fail(sec, key, "must be a GUID like 41463f53-8812-40f4-890f-865bf6e35190, got %q", v)
		return ""
	}
	return v
}

func (l *loader) loadAPI(c *Config, getenv func(string) string) {
	c.TenantID = l.guid(secAPI, "tenantId", "the Directory (tenant) ID GUID of the Azure AD tenant")
	c.ClientID = l.guid(secAPI, "clientId", "the Application (client) ID GUID of the app registration")

	c.Tenant = c.TenantID
	if v, ok := l.value(secAPI, "tenant"); ok {
		if !guidRE.MatchString(v) && !domainRE.MatchString(v) {
			l.fail(secAPI, "tenant", "must be the tenant GUID or a domain such as contoso.onmicrosoft.com, got %q", v)
		}
		c.Tenant = v
	}

	preset := l.loadCloud(c)
	c.AuthorityHost = l.httpsURL(secAPI, "authorityHostUrl", preset.AuthorityHost, false)
	c.Resource = l.httpsURL(secAPI, "resource", preset.Resource, true)
	defRoot := ""
	if c.Resource != "" && c.TenantID != "" {
		defRoot = c.Resource + "/api/v1.0/" + c.TenantID + "/activity/feed"
	}
	c.APIRoot = l.httpsURL(secAPI, "activityApiRoot", defRoot, true)

	c.PublisherID = c.TenantID
	if v, ok := l.value(secAPI, "publisherIdentifier"); ok {
		if !guidRE.MatchString(v) {
			l.fail(secAPI, "publisherIdentifier", "must be a GUID (normally the tenant ID), got %q", v)
		}
		c.PublisherID = v
	}

	if v, ok := l.value(secAPI, "thumbprint"); ok {
		t, valid := normalizeThumbprint(v)
		if !valid {
			l.fail(secAPI, "thumbprint", "must be the certificate's SHA-1 thumbprint, 40 hex digits as the Azure portal shows it, got %q", v)
		}
		c.Thumbprint = t
	}
	l.loadCredential(c, getenv)
	l.loadProxy(c)

	if v, ok := l.value(secAPI, "autoStartSubscriptions"); ok {
		b, valid := parseBool(v)
		if !valid {
			l.fail(secAPI, "autoStartSubscriptions", "must be True or False, got %q", v)
		}
		c.AutoStart = b
	}
}

// httpsURL reads an https URL, trims trailing slashes and, unless
// allowPath, insists on a bare scheme://host[:port]. def is used when the
// key is absent; "" means the default could not be computed because of an
// error reported elsewhere.
func (l *loader) httpsURL(sec, key, def string, allowPath bool) string {
	v, ok := l.value(sec, key)
	if !ok {
		return def
	}
	s := strings.TrimRight(v, "/")
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		l.fail(sec, key, "must be an https:// URL, got %q", v)
		return ""
	case u.Scheme != "https":
		l.fail(sec, key, "must use https://, got %q", v)
		return ""
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Contains(s, "?") || strings.Contains(s, "#"):
		l.fail(sec, key, "must not carry credentials, a query or a fragment, got %q", v)
		return ""
	case !allowPath && u.Path != "":
		l.fail(sec, key, "must be just https://host[:port] with no path, got %q", v)
		return ""
	}
	// url.Parse accepts "HTTPS://"; MSAL and logs want it lower-case.
	return "https" + s[len("https"):]
}

func (l *loader) keyPath(sec, key, p string) string {
	if p == "" {
		return ""
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(l.file), p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		l.fail(sec, key, "cannot make %q absolute: %v", p, err)
		return p
	}
	return abs
}

func (l *loader) dirPath(sec, key, p string) string {
	if p == "" {
		return ""
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		l.fail(sec, key, "cannot make %q absolute: %v", p, err)
		return p
	}
	return abs
}

func (l *loader) loadContentTypes(c *Config) {
	sec := l.f.lookup(secContent)
	if sec == nil {
		l.fail(secContent, "", "missing section; list the content types to fetch, e.g. exchange = Audit.Exchange (valid: %s)", strings.Join(ContentTypes, ", "))
		return
	}
	spelled := map[string]string{} // canonical → as written
	for _, key := range sec.order {
		raw := sec.raw[key]
		v, err := interpolate(raw, func(name string) (string, bool) { return l.f.get(sec, name) })
		if err != nil {
			l.fail(secContent, key, "%s", describeInterpolation(err, secContent))
			continue
		}
		v = strings.TrimSpace(v)
		ct, ok := CanonicalContentType(v)
		written := v
		if !ok {
			// "Audit.Exchange =" and a bare "Audit.Exchange" line (which
			// ini.v1 reads as "true") name the content type by the key.
			if kct, keyOK := CanonicalContentType(key); keyOK && (v == "" || v == "true") {
				// Key names are case-insensitive (read in lower case): the file takes the
				// canonical name.
				ct, ok, written = kct, true, kct
			}
		}
		if !ok {
			l.fail(secContent, key, "unknown content type %q; valid: %s", v, strings.Join(ContentTypes, ", "))
			continue
		}
		if prev, dup := spelled[ct]; dup {
			if prev != written {
				l.fail(secContent, key, "%s and %s name the same content type %s; keep one spelling: it is also the name of the output file (%s.log)", prev, written, ct, prev)
			}
			continue
		}
		spelled[ct] = written
		c.ContentTypes = append(c.ContentTypes, ct)
		if c.FileNames == nil {
			c.FileNames = map[string]string{}
		}
		c.FileNames[ct] = written
	}
	if len(sec.order) == 0 {
		l.fail(secContent, "", "no content types listed; add at least one of %s", strings.Join(ContentTypes, ", "))
	}
}

func (l *loader) loadLogging(c *Config, getenv func(string) string) {
	c.BaseLogDir = l.dirPath(secLogging, "baseLogLocation", l.required(secLogging, "baseLogLocation", "the directory the JSON-lines files are written to"))
	c.StateDir = l.dirPath(secLogging, "timeKeeperLocation", l.required(secLogging, "timeKeeperLocation", "the directory that keeps fetch progress"))

	c.DebugLogDir = c.BaseLogDir
	if v, ok := l.value(secLogging, "debugLogLocation"); ok {
		c.DebugLogDir = l.dirPath(secLogging, "debugLogLocation", v)
	}
	if v := strings.TrimSpace(getenv(envDebugDir)); v != "" {
		c.DebugLogDir = l.dirPath("", envDebugDir, v)
	}

	c.LogLevel = slog.LevelInfo
	if v := strings.TrimSpace(getenv(envLevel)); v != "" {
		level, ok := parseLevel(v)
		if !ok {
			l.errs = append(l.errs, &Error{Key: envLevel, Msg: fmt.Sprintf("environment value must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got %q", v)})
		}
		c.LogLevel = level
	}
}

func (l *loader) loadFetch(c *Config) {
	c.Workers = l.intRange(secFetch, "workers", DefaultWorkers, 1, 64)
	c.RequestsPerMinute = l.intRange(secFetch, "requestsPerMinute", DefaultRequestsPerMinute, 1, 60000)
	c.InitialLookback = l.durationRange(secFetch, "initialLookback", DefaultInitialLookback, time.Minute, 167*time.Hour)
	c.Overlap = l.durationRange(secFetch, "overlap", DefaultOverlap, 0, 24*time.Hour)
	c.RecordHorizon = l.durationRange(secFetch, "recordDedupHorizon", DefaultRecordHorizon, 0, 7*24*time.Hour)
	c.MaxRecordBytes = l.intRange(secFetch, "maxRecordBytes", DefaultMaxRecordBytes, 64<<10, 1<<30)
	c.MinFreeSpaceMB = l.intRange(secFetch, "minFreeSpaceMB", DefaultMinFreeSpaceMB, 0, 1<<30)
}

func (l *loader) intRange(sec, key string, def, lo, hi int) int {
	v, ok := l.value(sec, key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		l.fail(sec, key, "must be a whole number from %d to %d, got %q", lo, hi, v)
		return def
	}
	return n
}

// durationRange accepts Go durations ("90m", "24h") and plain seconds.
func (l *loader) durationRange(sec, key string, def, lo, hi time.Duration) time.Duration {
	v, ok := l.value(sec, key)
	if !ok {
		return def
	}
	d, err := parseDuration(v)
	if err != nil || d < lo || d > hi {
		l.fail(sec, key, "must be a duration from %s to %s such as \"90m\" or \"24h\" (or plain seconds), got %q", fmtDuration(lo), fmtDuration(hi), v)
		return def
	}
	return d
}

func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > int64((1<<63-1)/time.Second) || n < -int64((1<<63-1)/time.Second) {
			return 0, errors.New("out of range")
		}
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// fmtDuration prints 24h0m0s as 24h.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// parseBool is ConfigParser's getboolean.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "1", "yes", "true", "on":
		return true, true
	case "0", "no", "false", "off":
		return false, true
	}
	return false, false
}

// parseLevel maps Python logging level names onto slog.
func parseLevel(s string) (slog.Level, bool) {
	switch strings.ToUpper(s) {
	case "DEBUG":
		return slog.LevelDebug, true
	case "INFO":
		return slog.LevelInfo, true
	case "WARNING", "WARN":
		return slog.LevelWarn, true
	case "ERROR", "CRITICAL":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

// normalizeThumbprint turns a thumbprint as copied from the Azure portal,
// openssl ("3F:2A:..") or Windows certmgr (spaces, and an invisible U+200E
// in front) into 40 uppercase hex digits.
func normalizeThumbprint(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ':' || r == '-' || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r):
			// separators, NBSP and invisible marks (U+200E, U+200F, U+FEFF...)
		default:
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	t := b.String()
	if len(t) != 40 {
		return t, false
	}
	for _, r := range t {
		if !strings.ContainsRune("0123456789ABCDEF", r) {
			return t, false
		}
	}
	return t, true
}

// Redacted prints the effective configuration, one "key = value" line per
// setting grouped by section, for `check` and debug logs. Secrets (the
// client secret, the PFX password, a proxy password) show only where they
// came from.
func (c *Config) Redacted() string {
	var b strings.Builder
	line := func(k string, v any) { fmt.Fprintf(&b, "%s = %v\n", k, v) }
	fmt.Fprintf(&b, "# %s\n[%s]\n", c.File, secAPI)
	line("tenant", c.Tenant)
	line("tenantId", c.TenantID)
	line("clientId", c.ClientID)
	line("authorityHostUrl", c.AuthorityHost)
	line("resource", c.Resource)
	line("activityApiRoot", c.APIRoot)
	line("publisherIdentifier", c.PublisherID)
	line("cloud", c.Cloud)
	line("proxy", redactURL(c.Proxy))
	line("credential", c.Credential)
	switch c.Credential {
	case CredentialPEM:
		line("privateKeyFile", c.PrivateKeyFile)
		line("certificateFile", c.CertificateFile)
	case CredentialPFX:
		line("pfxFile", c.PFXFile)
		line("pfxPassword", maskedFrom(c.PFXPassword, c.SecretSource))
	case CredentialSecret:
		line("clientSecret", maskedFrom(c.ClientSecret, c.SecretSource))
	}
	line("thumbprint", c.Thumbprint)
	line("autoStartSubscriptions", c.AutoStart)
	fmt.Fprintf(&b, "[%s]\n", secContent)
	for _, ct := range c.ContentTypes {
		line(ct, c.OutputName(ct))
	}
	fmt.Fprintf(&b, "[%s]\n", secLogging)
	line("baseLogLocation", c.BaseLogDir)
	line("debugLogLocation", c.DebugLogDir)
	line("timeKeeperLocation", c.StateDir)
	fmt.Fprintf(&b, "[%s]\n", secFetch)
	line("workers", c.Workers)
	line("initialLookback", fmtDuration(c.InitialLookback))
	line("overlap", fmtDuration(c.Overlap))
	line("requestsPerMinute", c.RequestsPerMinute)
	line("recordDedupHorizon", fmtDuration(c.RecordHorizon))
	line("maxRecordBytes", c.MaxRecordBytes)
	line("minFreeSpaceMB", c.MinFreeSpaceMB)
	fmt.Fprintf(&b, "# environment: %s = %v\n", envLevel, c.LogLevel)
	return b.String()
}
