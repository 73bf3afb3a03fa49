package setup

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
)

// configValues fill configTemplate.
type configValues struct {
	Date                       string
	Tenant, TenantID, ClientID string
	AuthorityHost, Resource    string
	KeyFile, Thumbprint        string
	Output, DebugLog, State    string
}

// configTemplate follows the o365_logs.cfg example of the repository, key for key, so that the
// README describes both.
var configTemplate = template.Must(template.New("cfg").Funcs(template.FuncMap{"ini": iniValue}).Parse(
	`# o365logfetch configuration, written by o365logfetch init on {{.Date}}.
# Keys are case-insensitive; %(key)s refers to another key of the same section (or [DEFAULT]),
# as in Python's ConfigParser; write %% for a literal %.

[API_SETTINGS]
# Directory (tenant) of the app registration: the domain or the GUID. Used in the login URL.
tenant = {{ini .Tenant}}
# Tenant GUID: part of every API URL and sent as PublisherIdentifier on every request.
tenantId = {{ini .TenantID}}
# Application (client) ID of the app registration.
clientId = {{ini .ClientID}}
# Azure AD login host. Commercial and GCC: https://login.microsoftonline.com;
# GCC High and DoD: https://login.microsoftonline.us
authorityHostUrl = {{ini .AuthorityHost}}
# The API's resource. Commercial: https://manage.office.com · GCC: https://manage-gcc.office.com
# GCC High: https://manage.office365.us · DoD: https://manage.protection.apps.mil
resource = {{ini .Resource}}
# PEM file with the app's private key and its certificate (readable by its owner only).
# Relative paths are resolved against the directory of this file.
privateKeyFile = {{ini .KeyFile}}
# Optional: the certificate in a separate PEM file.
# certificateFile =
# SHA-1 thumbprint of the certificate as the Azure portal shows it; checked against the
# certificate in privateKeyFile.
thumbprint = {{ini .Thumbprint}}
activityApiRoot = %(resource)s/api/v1.0/%(tenantId)s/activity/feed
# Start missing or disabled subscriptions of the types below (True/False).
autoStartSubscriptions = True

[ContentTypes]
# One content type per line; the key names are free.
aad = Audit.AzureActiveDirectory
exchange = Audit.Exchange
sharepoint = Audit.SharePoint
general = Audit.General
dlp = DLP.All

[LOGGING]
# Output: one <ContentType>.log file of JSON lines per content type, for your SIEM to tail.
baseLogLocation = {{ini .Output}}
# Directory of o365logfetch's own debug.log.
debugLogLocation = {{ini .DebugLog}}
# Directory of the progress state and the run lock (the previous tool kept time.log here).
timeKeeperLocation = {{ini .State}}

# Optional; every key has a default.
[FETCH]
# Blobs downloaded at once, across all content types.
workers = 8
# Where the very first run starts (no saved progress, no time.log): this long before now.
initialLookback = 24h
# Trailing period before the saved end listed again each run, to catch late-published content;
# blobs already written are skipped.
overlap = 1h
# Client-side pace of API requests (Microsoft's baseline quota is 2000 per minute per tenant).
requestsPerMinute = 1200
# Record Ids written within this period are remembered: a record Microsoft delivers again is
# not written twice. 0 turns this off.
recordDedupHorizon = 24h
# A single record larger than this many bytes fails its blob (it stays pending).
maxRecordBytes = 16777216
# Warn when the output or state filesystem has less free space than this many MiB (0: never).
minFreeSpaceMB = 1024
`))

var envTemplate = template.Must(template.New("env").Funcs(template.FuncMap{"env": envValue}).Parse(
	`# o365logfetch environment, written by o365logfetch init. Read from the working directory
# (or pass --env-file). Variables already set in the environment win over this file.

# Path of the config file (the --config flag wins over this).
O365_MANAGEMENT_API_CONFIG={{env .}}
# Directory of debug.log; overrides [LOGGING] debugLogLocation when set.
# O365_DEBUG_LOG_LOCATION=
# DEBUG, INFO, WARNING or ERROR.
O365_LOG_LEVEL=INFO
`))

func renderConfig(v configValues) ([]byte, error) {
	var b bytes.Buffer
	if err := configTemplate.Execute(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func renderEnv(configPath string) ([]byte, error) {
	var b bytes.Buffer
	if err := envTemplate.Execute(&b, configPath); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// iniValue writes v so that the config loader reads v back: '%' doubled (interpolation), and
// nothing the INI reader would trim or split.
func iniValue(v string) (string, error) {
	if v != strings.TrimSpace(v) || strings.ContainsAny(v, "\r\n") {
		return "", fmt.Errorf("%q cannot be written to the config: leading or trailing spaces or a line break", v)
	}
	return strings.ReplaceAll(v, "%", "%%"), nil
}

// envValue quotes v for the .env reader: single quotes keep backslashes (Windows paths) and '$'
// as they are; a value holding a single quote is double-quoted with '\', '"' and '$' escaped.
func envValue(v string) (string, error) {
	if strings.ContainsAny(v, "\r\n") {
		return "", fmt.Errorf("%q cannot be written to .env: it holds a line break", v)
	}
	if !strings.Contains(v, "'") {
		return "'" + v + "'", nil
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`).Replace(v) + `"`, nil
}
