package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/config"
)

const (
	tenantGUID = "41463f53-8812-40f4-890f-865bf6e35190"
	clientGUID = "8a2d1f0e-6b7c-4d3e-9f10-1a2b3c4d5e6f"
)

func TestParseInit(t *testing.T) {
	defaults := initOptions{dir: ".", keyBits: 3072, validDays: 730}
	tests := []struct {
		name string
		args []string
		want initOptions // compared when wantErr is ""
		err  string
	}{
		{name: "nothing given", args: nil, want: defaults},
		{name: "everything given",
			args: []string{"--dir", filepath.Join("x", "y"), "--tenant", "contoso.onmicrosoft.com", "--tenant-id", tenantGUID, "--client-id", clientGUID,
				"--cloud", "GCC High", "--key-bits", "4096", "--valid-days", "365", "--yes", "--force"},
			want: initOptions{dir: filepath.Join("x", "y"), tenant: "contoso.onmicrosoft.com", tenantID: tenantGUID, clientID: clientGUID,
				cloud: "GCC High", keyBits: 4096, validDays: 365, yes: true, force: true}},
		{name: "custom endpoints", args: []string{"--authority-host", "https://login.example:8443/", "--resource", "https://api.example/x"},
			want: initOptions{dir: ".", authorityHost: "https://login.example:8443/", resource: "https://api.example/x", keyBits: 3072, validDays: 730}},
		{name: "renewal with its flags", args: []string{"--renew-cert", "--keep-key", "--config", "c.cfg", "--env-file", "e", "--valid-days", "90"},
			want: initOptions{dir: ".", keyBits: 3072, validDays: 90, renew: true, keepKey: true, configPath: "c.cfg", envFile: "e"}},
		{name: "tenant ID not a GUID", args: []string{"--tenant-id", "contoso"}, err: "--tenant-id: \"contoso\" is not a GUID"},
		{name: "client ID not a GUID", args: []string{"--client-id", tenantGUID + "0"}, err: "--client-id"},
		{name: "tenant neither", args: []string{"--tenant", "contoso/evil"}, err: "--tenant: "},
		{name: "unknown cloud", args: []string{"--cloud", "China"}, err: "Enterprise, GCC, GCCHigh or DoD"},
		{name: "authority with a path", args: []string{"--authority-host", "https://login.example/tenant"}, err: "just https://host[:port]"},
		{name: "plain http resource", args: []string{"--resource", "http://api.example"}, err: "not an https:// URL"},
		{name: "resource with a query", args: []string{"--resource", "https://api.example/?a=b"}, err: "query"},
		{name: "small key", args: []string{"--key-bits", "1024"}, err: "--key-bits 1024"},
		{name: "validity zero", args: []string{"--valid-days", "0"}, err: "--valid-days 0"},
		{name: "validity too long", args: []string{"--valid-days", "1826"}, err: "want 1 to 1825"},
		{name: "keep key without renewal", args: []string{"--keep-key"}, err: "--keep-key applies to init --renew-cert only"},
		{name: "config without renewal", args: []string{"--config", "x.cfg"}, err: "--config applies to init --renew-cert only"},
		{name: "tenant with renewal", args: []string{"--renew-cert", "--tenant-id", tenantGUID}, err: "--tenant-id does not apply to init --renew-cert"},
		{name: "force with renewal", args: []string{"--renew-cert", "--force"}, err: "--force does not apply"},
		{name: "key size with kept key", args: []string{"--renew-cert", "--keep-key", "--key-bits", "4096"}, err: "--keep-key keeps"},
		{name: "a fetch flag", args: []string{"--summary", "json"}, err: "flag provided but not defined: -summary"},
		{name: "a positional word", args: []string{"now"}, err: "init takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseInit(tt.args, io.Discard)
			if tt.err != "" {
				var u *usageError
				if !errors.As(err, &u) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want a usage error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("parsed\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
	var help bytes.Buffer
	if _, err := parseInit([]string{"--help"}, &help); !errors.Is(err, flag.ErrHelp) || !strings.Contains(help.String(), "--renew-cert") {
		t.Errorf("--help: %v\n%s", err, help.String())
	}
}

// promptRun runs init with answers typed at a (fake) terminal.
func promptRun(t *testing.T, terminal bool, input string, args ...string) (dir string, code int, stdout, prompts string) {
	t.Helper()
	dir = t.TempDir()
	var out, errOut bytes.Buffer
	app := App{Stdout: &out, Stderr: &errOut, Stdin: strings.NewReader(input), StdinIsTerminal: func() bool { return terminal },
		Now: func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }}
	code = app.Run(context.Background(), append([]string{"init", "--dir", dir, "--key-bits", "2048"}, args...))
	return dir, code, out.String(), errOut.String()
}

// The questions init asks, by the start of their text.
var questions = map[string]string{
	"tenant-id": "Directory (tenant) ID",
	"client-id": "Application (client) ID",
	"tenant":    "Tenant domain",
	"cloud":     "Cloud:",
}

func TestInitPrompts(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		input  string
		asked  map[string]int // times each question is asked
		tenant string         // in the config written
		cloud  config.Cloud
		err    string // on stderr, exit 2, nothing written
	}{
		{
			name: "every value asked, bad answers asked again",
			input: "contoso\n" + tenantGUID + "\n" + // not a GUID, then the tenant ID
				"\n" + clientGUID + "\n" + // empty, then the client ID
				"contoso/x\ncontoso.onmicrosoft.com\n" +
				"China\n gcc high \n",
			asked:  map[string]int{"tenant-id": 2, "client-id": 2, "tenant": 2, "cloud": 2},
			tenant: "contoso.onmicrosoft.com", cloud: config.Clouds[2],
		},
		{
			name:   "defaults taken with Enter",
			input:  tenantGUID + "\n" + clientGUID + "\n\n\n",
			asked:  map[string]int{"tenant-id": 1, "client-id": 1, "tenant": 1, "cloud": 1},
			tenant: tenantGUID, cloud: config.Clouds[0],
		},
		{
			name:   "only what the flags leave out",
			args:   []string{"--tenant", tenantGUID, "--cloud", "DoD"},
			input:  clientGUID, // no newline: the end of input ends the answer
			asked:  map[string]int{"client-id": 1},
			tenant: tenantGUID, cloud: config.Clouds[3],
		},
		{
			name:  "input ends before an answer",
			input: tenantGUID + "\n",
			asked: map[string]int{"tenant-id": 1, "client-id": 1},
			err:   "--client-id: no answer (end of input)",
		},
		{
			name:  "no valid answer",
			input: strings.Repeat("nope\n", 10),
			asked: map[string]int{"tenant-id": 5},
			err:   "--tenant-id: no valid answer after 5 tries",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, code, stdout, prompts := promptRun(t, true, tt.input, tt.args...)
			for key, q := range questions {
				if n := strings.Count(prompts, q); n != tt.asked[key] {
					t.Errorf("%q asked %d times, want %d\n%s", q, n, tt.asked[key], prompts)
				}
			}
			if tt.err != "" {
				if code != ExitUsage || !strings.Contains(prompts, tt.err) {
					t.Errorf("exit %d, want 2 and %q\n%s", code, tt.err, prompts)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Errorf("files written: %v", entries)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, stdout, prompts)
			}
			cfg, err := config.Load(filepath.Join(dir, "o365_logs.cfg"), func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Tenant != tt.tenant || cfg.TenantID != tenantGUID || cfg.ClientID != clientGUID ||
				cfg.AuthorityHost != tt.cloud.AuthorityHost || cfg.Resource != tt.cloud.Resource {
				t.Errorf("config: tenant %q tenantId %q clientId %q %s %s", cfg.Tenant, cfg.TenantID, cfg.ClientID, cfg.AuthorityHost, cfg.Resource)
			}
			if !strings.Contains(stdout, "cloud: "+tt.cloud.Name) || !strings.Contains(stdout, portal(tt.cloud.Name)) {
				t.Errorf("steps not for %s:\n%s", tt.cloud.Name, stdout)
			}
		})
	}
}

// Without a terminal, or with --yes, init reads nothing and names every missing value.
func TestInitNeverAsksWithoutATerminal(t *testing.T) {
	answers := tenantGUID + "\n" + clientGUID + "\n\n\n"
	for _, tt := range []struct {
		name     string
		terminal bool
		args     []string
		want     string
	}{
		{"no terminal", false, nil, "missing --tenant-id and --client-id (not asked: stdin is not a terminal)"},
		{"--yes on a terminal", true, []string{"--yes", "--tenant-id", tenantGUID}, "missing --client-id (not asked: --yes was given)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, code, _, stderr := promptRun(t, tt.terminal, answers, tt.args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) || !strings.Contains(stderr, "o365logfetch init --help") {
				t.Errorf("exit %d, want 2 naming %q\n%s", code, tt.want, stderr)
			}
			for _, q := range questions {
				if strings.Contains(stderr, q) {
					t.Errorf("asked %q", q)
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("files written: %v", entries)
			}
		})
	}
	// A tenant GUID given as --tenant serves as the tenant ID.
	if _, code, _, stderr := promptRun(t, false, "", "--tenant", tenantGUID, "--client-id", clientGUID); code != 0 {
		t.Errorf("--tenant GUID without --tenant-id: exit %d\n%s", code, stderr)
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, unix, windows string }{
		{"/etc/o365logfetch/o365_logs.cfg", "/etc/o365logfetch/o365_logs.cfg", "/etc/o365logfetch/o365_logs.cfg"},
		{`C:\ProgramData\o365logfetch\o365_logs.cfg`, `C:\ProgramData\o365logfetch\o365_logs.cfg`, `C:\ProgramData\o365logfetch\o365_logs.cfg`},
		{`C:\Program Files\o365\o365_logs.cfg`, `'C:\Program Files\o365\o365_logs.cfg'`, `"C:\Program Files\o365\o365_logs.cfg"`},
		{`\\server\share\o365 logs\o365_logs.cfg`, `'\\server\share\o365 logs\o365_logs.cfg'`, `"\\server\share\o365 logs\o365_logs.cfg"`},
		{"/srv/it's here/$HOME.cfg", `'/srv/it'\''s here/$HOME.cfg'`, `"/srv/it's here/$HOME.cfg"`},
		{"", "''", `""`},
	}
	for _, tt := range tests {
		if got := quoteFor("linux", tt.in); got != tt.unix {
			t.Errorf("linux: quoteFor(%q) = %s, want %s", tt.in, got, tt.unix)
		}
		if got := quoteFor("windows", tt.in); got != tt.windows {
			t.Errorf("windows: quoteFor(%q) = %s, want %s", tt.in, got, tt.windows)
		}
	}
}

// The renewal reads the config the other commands read, and writes beside its key file.
func TestInitRenewFindsTheConfig(t *testing.T) {
	dir, code, _, stderr := promptRun(t, false, "", "--tenant-id", tenantGUID, "--client-id", clientGUID, "--cloud", "gcc")
	if code != 0 {
		t.Fatalf("init: exit %d\n%s", code, stderr)
	}
	for _, tt := range []struct {
		name string
		app  func(*App) []string
	}{
		{"O365_MANAGEMENT_API_CONFIG", func(a *App) []string {
			a.Env = []string{"O365_MANAGEMENT_API_CONFIG=" + filepath.Join(dir, "o365_logs.cfg")}
			return nil
		}},
		{"--env-file", func(a *App) []string { return []string{"--env-file", filepath.Join(dir, ".env")} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			day := time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
			if tt.name == "--env-file" {
				day = day.Add(24 * time.Hour)
			}
			a := App{Stdout: &out, Stderr: &errOut, Now: func() time.Time { return day }}
			extra := tt.app(&a)
			if code := a.Run(context.Background(), append([]string{"init", "--renew-cert", "--key-bits", "2048"}, extra...)); code != 0 {
				t.Fatalf("exit %d\n%s", code, errOut.String())
			}
			want := filepath.Join(dir, "app-"+day.Format("20060102")+".pem")
			if _, err := os.Stat(want); err != nil || !strings.Contains(out.String(), "cloud: GCC") || !strings.Contains(out.String(), "https://portal.azure.com") {
				t.Errorf("renewal: %v\n%s", err, out.String())
			}
		})
	}
}

// Ctrl-C at a question ends init at once, although the read itself cannot be interrupted.
func TestInitInterruptedAtAQuestion(t *testing.T) {
	r, w := io.Pipe() // no answer ever comes
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	var errOut bytes.Buffer
	app := App{Stdout: io.Discard, Stderr: &errOut, Stdin: r, StdinIsTerminal: func() bool { return true }}
	if code := app.Run(ctx, []string{"init", "--dir", dir}); code != ExitUsage || !strings.Contains(errOut.String(), "interrupted; nothing written") {
		t.Errorf("exit %d\n%s", code, errOut.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}
}

// An init that could not write asks nothing: the key in the way is named first.
func TestInitRefusesBeforeAsking(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(key, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, code, _, stderr := promptRun(t, true, tenantGUID+"\n"+clientGUID+"\n\n\n", "--dir", dir, "--force")
	if code != ExitUsage || !strings.Contains(stderr, key+" already exists; init never replaces a key") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	for _, q := range questions {
		if strings.Contains(stderr, q) {
			t.Errorf("asked %q", q)
		}
	}
	if data, _ := os.ReadFile(key); string(data) != "mine" {
		t.Error("the key changed")
	}
}
