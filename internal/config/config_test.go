package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// seed is the template of the Python tool as users have it, with the
// clientID spelling its code used.
const seed = `[API_SETTINGS]
tenant = contoso.onmicrosoft.com
tenantId = 41463f53-8812-40f4-890f-865bf6e35190
clientID = 5a1e7b9c-3d2f-4a6b-8c0e-1f2a3b4c5d6e
authorityHostUrl = https://login.microsoftonline.com
resource = https://manage.office.com
thumbprint = 3F2A4B5C6D7E8F9012345678901234567890ABCD
privateKeyFile = /o365/etc/private_key_file.pem
activityApiRoot = %(resource)s/api/v1.0/%(tenantId)s/activity/feed
autoStartSubscriptions = True
[ContentTypes]
exchange = Audit.Exchange
aad = Audit.AzureActiveDirectory
[LOGGING]
baseLogLocation = /o365/logs
debugLogLocation = /o365/debug
timeKeeperLocation = /o365/time
`

// minimal is the least a valid file holds.
const minimal = `[API_SETTINGS]
tenantId = 41463f53-8812-40f4-890f-865bf6e35190
clientId = 5a1e7b9c-3d2f-4a6b-8c0e-1f2a3b4c5d6e
privateKeyFile = /o365/etc/key.pem
[ContentTypes]
exchange = Audit.Exchange
[LOGGING]
baseLogLocation = /o365/logs
timeKeeperLocation = /o365/time
`

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "o365_logs.cfg")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// replaceLine swaps the line starting with prefix (or appends to section
// when no such line exists).
func replaceLine(text, prefix, line string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			lines[i] = line
			return strings.Join(lines, "\n")
		}
	}
	panic("no line " + prefix)
}

func TestLoadSeed(t *testing.T) {
	path := writeConfig(t, seed)
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File:              path,
		Tenant:            "contoso.onmicrosoft.com",
		TenantID:          "41463f53-8812-40f4-890f-865bf6e35190",
		ClientID:          "5a1e7b9c-3d2f-4a6b-8c0e-1f2a3b4c5d6e",
		AuthorityHost:     "https://login.microsoftonline.com",
		Resource:          "https://manage.office.com",
		APIRoot:           "https://manage.office.com/api/v1.0/41463f53-8812-40f4-890f-865bf6e35190/activity/feed",
		PublisherID:       "41463f53-8812-40f4-890f-865bf6e35190",
		Credential:        CredentialPEM,
		PrivateKeyFile:    "/o365/etc/private_key_file.pem",
		Thumbprint:        "3F2A4B5C6D7E8F9012345678901234567890ABCD",
		AutoStart:         true,
		ContentTypes:      []string{"Audit.Exchange", "Audit.AzureActiveDirectory"},
		FileNames:         map[string]string{"Audit.Exchange": "Audit.Exchange", "Audit.AzureActiveDirectory": "Audit.AzureActiveDirectory"},
		BaseLogDir:        "/o365/logs",
		DebugLogDir:       "/o365/debug",
		StateDir:          "/o365/time",
		LogLevel:          slog.LevelInfo,
		Workers:           DefaultWorkers,
		InitialLookback:   DefaultInitialLookback,
		Overlap:           DefaultOverlap,
		RecordHorizon:     DefaultRecordHorizon,
		MaxRecordBytes:    DefaultMaxRecordBytes,
		MinFreeSpaceMB:    DefaultMinFreeSpaceMB,
		RequestsPerMinute: DefaultRequestsPerMinute,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got\n%+v\nwant\n%+v", c, want)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Load(writeConfig(t, minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"tenant is the tenant id", c.Tenant, "41463f53-8812-40f4-890f-865bf6e35190"},
		{"authority host", c.AuthorityHost, "https://login.microsoftonline.com"},
		{"resource", c.Resource, "https://manage.office.com"},
		{"api root", c.APIRoot, "https://manage.office.com/api/v1.0/41463f53-8812-40f4-890f-865bf6e35190/activity/feed"},
		{"publisher id is the tenant id", c.PublisherID, "41463f53-8812-40f4-890f-865bf6e35190"},
		{"no certificate file", c.CertificateFile, ""},
		{"no thumbprint", c.Thumbprint, ""},
		{"no auto start", c.AutoStart, false},
		{"debug dir is the base dir", c.DebugLogDir, "/o365/logs"},
		{"log level info", c.LogLevel, slog.LevelInfo},
		{"workers", c.Workers, 8},
		{"initial lookback", c.InitialLookback, 22 * time.Hour},
		{"overlap", c.Overlap, time.Hour},
		{"requests per minute", c.RequestsPerMinute, 1200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestLoadVariants(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		text  string
		env   map[string]string
		check func(t *testing.T, c *Config, path string)
	}{
		{
			name: "keys and sections in any case",
			text: strings.NewReplacer("[API_SETTINGS]", "[api_settings]", "tenantId", "TENANTID", "[LOGGING]", "[Logging]", "[ContentTypes]", "[CONTENTTYPES]").Replace(minimal),
			check: func(t *testing.T, c *Config, _ string) {
				if c.TenantID != "41463f53-8812-40f4-890f-865bf6e35190" || c.BaseLogDir != "/o365/logs" || len(c.ContentTypes) != 1 {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "indented keys and colon delimiter",
			text: strings.ReplaceAll(strings.ReplaceAll(minimal, "\nclientId =", "\n    clientId :"), "\nprivateKeyFile", "\n\tprivateKeyFile"),
			check: func(t *testing.T, c *Config, _ string) {
				if c.ClientID != "5a1e7b9c-3d2f-4a6b-8c0e-1f2a3b4c5d6e" || c.PrivateKeyFile != "/o365/etc/key.pem" {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "semicolon and hash stay in values, comment lines are skipped",
			text: "# a comment\n; another\n" + replaceLine(minimal, "baseLogLocation", "baseLogLocation = /o365/logs;x #y"),
			check: func(t *testing.T, c *Config, _ string) {
				if c.BaseLogDir != "/o365/logs;x #y" {
					t.Errorf("base dir %q", c.BaseLogDir)
				}
			},
		},
		{
			name: "trailing backslash does not swallow the next line",
			text: replaceLine(minimal, "baseLogLocation", `baseLogLocation = /o365/logs\`),
			check: func(t *testing.T, c *Config, _ string) {
				if c.BaseLogDir != `/o365/logs\` || c.StateDir != "/o365/time" {
					t.Errorf("base %q state %q", c.BaseLogDir, c.StateDir)
				}
			},
		},
		{
			name: "CRLF line ends and BOM",
			text: "\ufeff" + strings.ReplaceAll(minimal, "\n", "\r\n"),
			check: func(t *testing.T, c *Config, _ string) {
				if c.TenantID != "41463f53-8812-40f4-890f-865bf6e35190" || c.StateDir != "/o365/time" {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "values come from DEFAULT",
			text: "[DEFAULT]\nbase = /srv/o365\nbaseLogLocation = %(base)s/logs\n" + replaceLine(minimal, "baseLogLocation", ""),
			check: func(t *testing.T, c *Config, _ string) {
				if c.BaseLogDir != "/srv/o365/logs" {
					t.Errorf("base dir %q", c.BaseLogDir)
				}
			},
		},
		{
			name: "relative paths",
			text: strings.NewReplacer("/o365/etc/key.pem", "etc/key.pem", "/o365/logs", "logs", "/o365/time", "time").Replace(minimal) +
				"[API_SETTINGS]\ncertificateFile = cert.pem\n",
			check: func(t *testing.T, c *Config, path string) {
				dir := filepath.Dir(path)
				if c.PrivateKeyFile != filepath.Join(dir, "etc/key.pem") || c.CertificateFile != filepath.Join(dir, "cert.pem") {
					t.Errorf("key %q cert %q, want under %q", c.PrivateKeyFile, c.CertificateFile, dir)
				}
				if c.BaseLogDir != filepath.Join(wd, "logs") || c.StateDir != filepath.Join(wd, "time") || c.DebugLogDir != c.BaseLogDir {
					t.Errorf("base %q state %q debug %q, want under %q", c.BaseLogDir, c.StateDir, c.DebugLogDir, wd)
				}
			},
		},
		{
			name: "environment overrides",
			text: minimal,
			env:  map[string]string{"O365_DEBUG_LOG_LOCATION": "/var/debug", "O365_LOG_LEVEL": "warning"},
			check: func(t *testing.T, c *Config, _ string) {
				if c.DebugLogDir != "/var/debug" || c.LogLevel != slog.LevelWarn {
					t.Errorf("debug %q level %v", c.DebugLogDir, c.LogLevel)
				}
			},
		},
		{
			name: "trailing slashes trimmed, other cloud",
			text: minimal + "[API_SETTINGS]\nauthorityHostUrl = https://login.microsoftonline.us/\nresource = https://manage.office365.us/\n",
			check: func(t *testing.T, c *Config, _ string) {
				if c.AuthorityHost != "https://login.microsoftonline.us" || c.Resource != "https://manage.office365.us" ||
					c.APIRoot != "https://manage.office365.us/api/v1.0/41463f53-8812-40f4-890f-865bf6e35190/activity/feed" {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "fetch section",
			text: minimal + "[fetch]\nworkers = 3\ninitialLookback = 3600\noverlap = 0\nrequestsPerMinute = 60000\npublisherIdentifier = 11111111-2222-3333-4444-555555555555\n",
			check: func(t *testing.T, c *Config, _ string) {
				if c.Workers != 3 || c.InitialLookback != time.Hour || c.Overlap != 0 || c.RequestsPerMinute != 60000 {
					t.Errorf("got %+v", c)
				}
				if c.PublisherID != c.TenantID {
					t.Errorf("publisherIdentifier outside [API_SETTINGS] must be ignored, got %q", c.PublisherID)
				}
			},
		},
		{
			name: "go durations",
			text: minimal + "[FETCH]\ninitialLookback = 90m\noverlap = 24h\n",
			check: func(t *testing.T, c *Config, _ string) {
				if c.InitialLookback != 90*time.Minute || c.Overlap != 24*time.Hour {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "unknown sections and keys are ignored, even with bad references",
			text: minimal + "[EXTRA]\nfoo = %(nothing)s\n[API_SETTINGS]\nlegacy = 100%\n",
			check: func(t *testing.T, c *Config, _ string) {
				if c.TenantID == "" {
					t.Error("not loaded")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.text)
			c, err := Load(path, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c, path)
		})
	}
}

func TestAutoStart(t *testing.T) {
	tests := []struct {
		value string
		want  bool
	}{
		{"True", true}, {"true", true}, {"YES", true}, {"on", true}, {"1", true},
		{"False", false}, {"no", false}, {"OFF", false}, {"0", false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			c, err := Load(writeConfig(t, minimal+"[API_SETTINGS]\nautoStartSubscriptions = "+tt.value+"\n"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.AutoStart != tt.want {
				t.Errorf("got %v", c.AutoStart)
			}
		})
	}
}

func TestLogLevel(t *testing.T) {
	tests := []struct {
		value string
		want  slog.Level
	}{
		{"DEBUG", slog.LevelDebug}, {"info", slog.LevelInfo}, {"Warning", slog.LevelWarn},
		{"WARN", slog.LevelWarn}, {"error", slog.LevelError}, {"CRITICAL", slog.LevelError},
	}
	path := writeConfig(t, minimal)
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			c, err := Load(path, env(map[string]string{"O365_LOG_LEVEL": tt.value}))
			if err != nil {
				t.Fatal(err)
			}
			if c.LogLevel != tt.want {
				t.Errorf("got %v", c.LogLevel)
			}
		})
	}
}

func TestContentTypes(t *testing.T) {
	tests := []struct {
		name  string
		lines string
		want  []string
		files []string // output names, as spelled; default want
	}{
		{"canonical casing for the API, the user's spelling for the file", "a = audit.exchange\nb = dlp.all\nc = AUDIT.SHAREPOINT", []string{"Audit.Exchange", "DLP.All", "Audit.SharePoint"}, []string{"audit.exchange", "dlp.all", "AUDIT.SHAREPOINT"}},
		{"the old tool's template", "type1 = Audit.AzureActiveDirectory\ntype3 = Audit.Sharepoint", []string{"Audit.AzureActiveDirectory", "Audit.SharePoint"}, []string{"Audit.AzureActiveDirectory", "Audit.Sharepoint"}},
		{"duplicates dropped, file order kept", "x = Audit.General\ny = Audit.Exchange\nz = Audit.General", []string{"Audit.General", "Audit.Exchange"}, nil},
		{"key names the type, empty value", "Audit.SharePoint =\naad = Audit.AzureActiveDirectory", []string{"Audit.SharePoint", "Audit.AzureActiveDirectory"}, nil},
		{"key alone on its line", "audit.general\nexchange = Audit.Exchange", []string{"Audit.General", "Audit.Exchange"}, nil},
		{"surrounding spaces", "exchange =    Audit.Exchange   ", []string{"Audit.Exchange"}, nil},
		{"reference", "[DEFAULT]\nex = Audit.Exchange\n[ContentTypes]\nexchange = %(ex)s", []string{"Audit.Exchange"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Replace(minimal, "exchange = Audit.Exchange", tt.lines, 1)
			c, err := Load(writeConfig(t, text), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.ContentTypes, tt.want) {
				t.Errorf("got %q, want %q", c.ContentTypes, tt.want)
			}
			files := tt.files
			if files == nil {
				files = tt.want
			}
			for i, ct := range c.ContentTypes {
				if i < len(files) && c.OutputName(ct) != files[i] {
					t.Errorf("output name of %s = %q, want %q", ct, c.OutputName(ct), files[i])
				}
			}
		})
	}
}

func TestCanonicalContentType(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"audit.azureactivedirectory", "Audit.AzureActiveDirectory", true},
		{" DLP.ALL ", "DLP.All", true},
		{"Audit.Exchange", "Audit.Exchange", true},
		{"Audit.Exchange/../../etc", "", false},
		{"Audit", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := CanonicalContentType(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %q %v, want %q %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestThumbprint(t *testing.T) {
	const want = "3F2A4B5C6D7E8F9012345678901234567890ABCD"
	tests := []struct {
		name, value string
	}{
		{"uppercase", want},
		{"lowercase with colons", "3f:2a:4b:5c:6d:7e:8f:90:12:34:56:78:90:12:34:56:78:90:ab:cd"},
		{"spaces as certmgr shows it", "3f 2a 4b 5c 6d 7e 8f 90 12 34 56 78 90 12 34 56 78 90 ab cd"},
		{"U+200E prefix copied from certmgr", "\u200e3f 2a 4b 5c 6d 7e 8f 90 12 34 56 78 90 12 34 56 78 90 ab cd"},
		{"dashes, NBSP, BOM and RLM", "\ufeff3F2A-4B5C\u00a06D7E8F9012345678901234567890AB\u200fCD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, minimal+"[API_SETTINGS]\nthumbprint = "+tt.value+"\n"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.Thumbprint != want {
				t.Errorf("got %q", c.Thumbprint)
			}
		})
	}
}

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name          string
		text          string
		env           map[string]string
		section, key  string
		msgContains   []string
		errorContains string
	}{
		{name: "missing tenantId", text: replaceLine(minimal, "tenantId", ""), section: "API_SETTINGS", key: "tenantId", msgContains: []string{"missing"}},
		{name: "bad tenantId", text: replaceLine(minimal, "tenantId", "tenantId = abc"), section: "API_SETTINGS", key: "tenantId",
			errorContains: `o365_logs.cfg: [API_SETTINGS] tenantId: must be a GUID like 41463f53-8812-40f4-890f-865bf6e35190, got "abc"`},
		{name: "missing clientId", text: replaceLine(minimal, "clientId", ""), section: "API_SETTINGS", key: "clientId", msgContains: []string{"missing"}},
		{name: "bad clientId", text: replaceLine(minimal, "clientId", "clientId = 5a1e7b9c"), section: "API_SETTINGS", key: "clientId", msgContains: []string{"GUID"}},
		{name: "missing privateKeyFile", text: replaceLine(minimal, "privateKeyFile", ""), section: "API_SETTINGS", key: "privateKeyFile", msgContains: []string{"missing"}},
		{name: "tenant with a slash", text: minimal + "[API_SETTINGS]\ntenant = contoso.com/x\n", section: "API_SETTINGS", key: "tenant", msgContains: []string{"domain"}},
		{name: "http authority", text: minimal + "[API_SETTINGS]\nauthorityHostUrl = http://login.microsoftonline.com\n", section: "API_SETTINGS", key: "authorityHostUrl", msgContains: []string{"https://", "http://login"}},
		{name: "authority with path", text: minimal + "[API_SETTINGS]\nauthorityHostUrl = https://login.microsoftonline.com/common\n", section: "API_SETTINGS", key: "authorityHostUrl", msgContains: []string{"no path"}},
		{name: "resource not a url", text: minimal + "[API_SETTINGS]\nresource = manage.office.com\n", section: "API_SETTINGS", key: "resource", msgContains: []string{"https://"}},
		{name: "api root with query", text: minimal + "[API_SETTINGS]\nactivityApiRoot = https://manage.office.com/api?x=1\n", section: "API_SETTINGS", key: "activityApiRoot", msgContains: []string{"query"}},
		{name: "bad publisher", text: minimal + "[API_SETTINGS]\npublisherIdentifier = me\n", section: "API_SETTINGS", key: "publisherIdentifier", msgContains: []string{"GUID"}},
		{name: "short thumbprint", text: minimal + "[API_SETTINGS]\nthumbprint = 3F2A\n", section: "API_SETTINGS", key: "thumbprint", msgContains: []string{"40 hex"}},
		{name: "non-hex thumbprint", text: minimal + "[API_SETTINGS]\nthumbprint = 3F2A4B5C6D7E8F9012345678901234567890ABCG\n", section: "API_SETTINGS", key: "thumbprint", msgContains: []string{"40 hex"}},
		{name: "bad boolean", text: minimal + "[API_SETTINGS]\nautoStartSubscriptions = maybe\n", section: "API_SETTINGS", key: "autoStartSubscriptions", msgContains: []string{"True or False"}},
		{name: "two spellings of one type", text: strings.Replace(minimal, "exchange = Audit.Exchange", "a = Audit.SharePoint\nb = Audit.Sharepoint", 1), section: "ContentTypes", key: "b",
			errorContains: "[ContentTypes] b: Audit.SharePoint and Audit.Sharepoint name the same content type Audit.SharePoint; keep one spelling: it is also the name of the output file (Audit.SharePoint.log)"},
		{name: "unknown content type", text: strings.Replace(minimal, "Audit.Exchange", "Audit.Exchang", 1), section: "ContentTypes", key: "exchange",
			msgContains: []string{`"Audit.Exchang"`, "Audit.AzureActiveDirectory, Audit.Exchange, Audit.SharePoint, Audit.General, DLP.All"}},
		{name: "path in content type", text: strings.Replace(minimal, "Audit.Exchange", "../../etc/passwd", 1), section: "ContentTypes", key: "exchange", msgContains: []string{"unknown content type"}},
		{name: "content type key with false", text: strings.Replace(minimal, "exchange = Audit.Exchange", "Audit.Exchange = false", 1), section: "ContentTypes", key: "audit.exchange", msgContains: []string{`"false"`}},
		{name: "no content types section", text: strings.Replace(minimal, "[ContentTypes]\nexchange = Audit.Exchange\n", "", 1), section: "ContentTypes", msgContains: []string{"missing section"}},
		{name: "empty content types section", text: strings.Replace(minimal, "exchange = Audit.Exchange\n", "", 1), section: "ContentTypes", msgContains: []string{"at least one"}},
		{name: "missing baseLogLocation", text: replaceLine(minimal, "baseLogLocation", ""), section: "LOGGING", key: "baseLogLocation", msgContains: []string{"missing"}},
		{name: "missing timeKeeperLocation", text: replaceLine(minimal, "timeKeeperLocation", ""), section: "LOGGING", key: "timeKeeperLocation", msgContains: []string{"missing"}},
		{name: "workers zero", text: minimal + "[FETCH]\nworkers = 0\n", section: "FETCH", key: "workers", msgContains: []string{"1 to 64", `"0"`}},
		{name: "workers too many", text: minimal + "[FETCH]\nworkers = 65\n", section: "FETCH", key: "workers", msgContains: []string{"1 to 64"}},
		{name: "workers not a number", text: minimal + "[FETCH]\nworkers = eight\n", section: "FETCH", key: "workers", msgContains: []string{"whole number"}},
		{name: "lookback too long", text: minimal + "[FETCH]\ninitialLookback = 168h\n", section: "FETCH", key: "initialLookback", msgContains: []string{"1m to 167h"}},
		{name: "lookback too short", text: minimal + "[FETCH]\ninitialLookback = 59\n", section: "FETCH", key: "initialLookback", msgContains: []string{"1m to 167h"}},
		{name: "lookback garbage", text: minimal + "[FETCH]\ninitialLookback = a day\n", section: "FETCH", key: "initialLookback", msgContains: []string{"a day"}},
		{name: "lookback seconds overflow", text: minimal + "[FETCH]\ninitialLookback = 9223372036854775807\n", section: "FETCH", key: "initialLookback", msgContains: []string{"1m to 167h"}},
		{name: "negative overlap", text: minimal + "[FETCH]\noverlap = -1h\n", section: "FETCH", key: "overlap", msgContains: []string{"0s to 24h"}},
		{name: "requests per minute", text: minimal + "[FETCH]\nrequestsPerMinute = 60001\n", section: "FETCH", key: "requestsPerMinute", msgContains: []string{"1 to 60000"}},
		{name: "bad log level", text: minimal, env: map[string]string{"O365_LOG_LEVEL": "LOUD"}, key: "O365_LOG_LEVEL",
			errorContains: `O365_LOG_LEVEL: environment value must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got "LOUD"`},
		{name: "unknown reference", text: minimal + "[API_SETTINGS]\nresource = %(host)s\n", section: "API_SETTINGS", key: "resource",
			msgContains: []string{"%(host)s", "[API_SETTINGS] or [DEFAULT]"}},
		{name: "lone percent", text: minimal + "[API_SETTINGS]\nresource = https://x/100%\n", section: "API_SETTINGS", key: "resource", msgContains: []string{"%%"}},
		{name: "not an ini file", text: "[API_SETTINGS\n", msgContains: []string{"not an INI file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.text)
			_, err := Load(path, env(tt.env))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T), want *Error", err, err)
			}
			if e.Section != tt.section || e.Key != tt.key {
				t.Errorf("got section %q key %q, want %q %q (%v)", e.Section, e.Key, tt.section, tt.key, err)
			}
			for _, s := range tt.msgContains {
				if !strings.Contains(e.Msg, s) {
					t.Errorf("message %q lacks %q", e.Msg, s)
				}
			}
			if tt.errorContains != "" && !strings.Contains(err.Error(), tt.errorContains) {
				t.Errorf("error %q lacks %q", err, tt.errorContains)
			}
			if e.Key != "O365_LOG_LEVEL" && e.File != path {
				t.Errorf("file %q, want %q", e.File, path)
			}
		})
	}
}

func TestSeveralErrorsReportedTogether(t *testing.T) {
	text := replaceLine(replaceLine(minimal, "tenantId", "tenantId = x"), "clientId", "clientId = y")
	_, err := Load(writeConfig(t, text+"[FETCH]\nworkers = 0\n"), nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, key := range []string{"tenantId", "clientId", "workers"} {
		if !strings.Contains(err.Error(), key+":") {
			t.Errorf("%q does not name %s", err, key)
		}
	}
}

func TestFileProblems(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		want []string
	}{
		{"missing file", filepath.Join(dir, "nope.cfg"), []string{"nope.cfg", "no such file", "--config", "O365_MANAGEMENT_API_CONFIG"}},
		{"directory", dir, []string{dir, "cannot read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path, nil)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want *Error", err)
			}
			if e.File != tt.path {
				t.Errorf("file %q", e.File)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q lacks %q", err, s)
				}
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	c, err := Load(writeConfig(t, seed), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := c.Redacted()
	for _, want := range []string{
		"[API_SETTINGS]\n", "tenantId = 41463f53-8812-40f4-890f-865bf6e35190\n",
		"thumbprint = 3F2A4B5C6D7E8F9012345678901234567890ABCD\n",
		"Audit.Exchange = Audit.Exchange\n", "initialLookback = 22h\n", "overlap = 1h\n", "# environment: O365_LOG_LEVEL = INFO\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
