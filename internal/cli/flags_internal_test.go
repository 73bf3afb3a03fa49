package cli

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
)

// The previous tool's -s/--start_time and -e/--end_time are the same flags as --start/--end.
func TestOldToolTimeFlags(t *testing.T) {
	want, err := parseArgs([]string{"--start", "1764061200", "--end", "1764147600"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-s", "1764061200", "-e", "1764147600"},
		{"--start_time", "1764061200", "--end_time", "1764147600"},
		{"-start_time=1764061200", "-e=1764147600"},
	} {
		got, err := parseArgs(args, io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if got.fetch != want.fetch {
			t.Errorf("%q: %+v, want %+v", args, got.fetch, want.fetch)
		}
	}
}

// Each command line parses to its command and options, with no emulator and no file read.
func TestParseArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want commandLine
	}{
		{"cron fetch", nil, commandLine{command: "fetch"}},
		{"fetch with every flag", []string{"--config", "c.cfg", "--env-file", "e", "--start", "2026-11-25", "--end=2026-11-26", "--summary", "json", "--quiet", "--metrics-file", "m.prom"},
			commandLine{command: "fetch", global: globalOptions{"c.cfg", "e"},
				fetch: fetchOptions{start: "2026-11-25", end: "2026-11-26", summary: "json", quiet: true, metricsFile: "m.prom"}}},
		{"subscriptions list, global flag after", []string{"subscriptions", "list", "--config", "c.cfg"},
			commandLine{command: "subscriptions", global: globalOptions{configPath: "c.cfg"}, subs: subscriptionsOptions{action: "list"}, args: []string{"list"}}},
		{"subscriptions stop, --yes anywhere", []string{"--env-file", "e", "subscriptions", "--yes", "stop", "DLP.All", "Audit.General"},
			commandLine{command: "subscriptions", global: globalOptions{envFile: "e"},
				subs: subscriptionsOptions{action: "stop", types: []string{"DLP.All", "Audit.General"}, yes: true}, args: []string{"stop", "DLP.All", "Audit.General"}}},
		{"check, global flag before", []string{"--config=x.cfg", "check"}, commandLine{command: "check", global: globalOptions{configPath: "x.cfg"}}},
		{"version", []string{"version"}, commandLine{command: "version"}},
		{"a config value that is a command's name", []string{"--config", "check"}, commandLine{command: "fetch", global: globalOptions{configPath: "check"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseArgs(%q) =\n%+v\nwant\n%+v", tt.args, got, tt.want)
			}
		})
	}
}

// A flag given to a command it means nothing to is refused with a message that says where it
// belongs; so is a misplaced word.
func TestParseArgsRefuses(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"--yes on a fetch", []string{"--yes"}, "--yes applies to subscriptions stop, not to a fetch"},
		{"--yes on subscriptions list", []string{"subscriptions", "list", "--yes"}, "--yes applies to subscriptions stop, not to subscriptions list"},
		{"--yes on check", []string{"check", "--yes"}, "--yes applies to subscriptions stop, not to check"},
		{"--summary on check", []string{"--summary", "json", "check"}, "--summary applies to a fetch, not to check"},
		{"--metrics-file on subscriptions", []string{"subscriptions", "start", "--metrics-file", "m"}, "--metrics-file applies to a fetch, not to subscriptions start"},
		{"--quiet on version", []string{"version", "--quiet"}, "--quiet applies to a fetch, not to version"},
		{"-s on subscriptions", []string{"-s", "2026-11-25", "subscriptions", "list"}, "-s applies to a fetch, not to subscriptions list"},
		{"--start on check", []string{"check", "--start=2026-11-25"}, "--start applies to a fetch, not to check"},
		{"unknown flag", []string{"--bogus"}, "flag provided but not defined: -bogus"},
		{"a type after fetch", []string{"fetch", "Audit.Exchange"}, `a fetch takes no arguments (it fetches every type of [ContentTypes]), got "Audit.Exchange"`},
		{"unknown command", []string{"frobnicate", "now"}, `unknown command "frobnicate now"`},
		{"init not first", []string{"--config", "c", "init"}, "init comes first"},
		{"bad summary", []string{"--summary", "yaml"}, `--summary "yaml": want text or json`},
		{"check with a word", []string{"check", "all"}, `check takes no arguments, got "all"`},
		{"version with a word", []string{"version", "all"}, `version takes no arguments, got "all"`},
		{"value missing", []string{"--config"}, "flag needs an argument: -config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseArgs(tt.args, io.Discard)
			var u *usageError
			if !errors.As(err, &u) {
				t.Fatalf("parseArgs(%q) = %v, want a usage error", tt.args, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseArgs(%q) = %q, want it to say %q", tt.args, err, tt.want)
			}
		})
	}
}

// --help prints the usage from any command, and parses to flag.ErrHelp (exit 0).
func TestParseArgsHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"check", "--help"}, {"subscriptions", "stop", "-h"}, {"frobnicate", "--help"}} {
		var out bytes.Buffer
		_, err := parseArgs(args, &out)
		if !errors.Is(err, flag.ErrHelp) || out.String() != usage {
			t.Errorf("parseArgs(%q) = %v and printed %d bytes, want the usage", args, err, out.Len())
		}
	}
}
