package cli

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseAudit(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		args       []string
		err        string // part of the usage error; "" = parses
		start, end time.Time
		check      func(auditOptions) bool
	}{
		{args: nil, start: now.Add(-7 * 24 * time.Hour), end: now,
			check: func(o auditOptions) bool { return o.summary == "text" && !o.repair && len(o.types) == 0 }},
		{args: []string{"--since", "72h"}, start: now.Add(-72 * time.Hour), end: now},
		{args: []string{"--since", "2d", "Audit.Exchange"}, start: now.Add(-48 * time.Hour), end: now,
			check: func(o auditOptions) bool { return slices.Equal(o.types, []string{"Audit.Exchange"}) }},
		{args: []string{"audit.exchange", "--repair", "DLP.ALL", "-v", "--scan-output", "--summary", "json"},
			start: now.Add(-7 * 24 * time.Hour), end: now,
			check: func(o auditOptions) bool {
				return o.repair && o.verbose && o.scanOutput && o.summary == "json" &&
					slices.Equal(o.types, []string{"audit.exchange", "DLP.ALL"})
			}},
		{args: []string{"--start", "2026-11-28T03:00:00Z", "--end", "2026-11-28T05:00:00Z"},
			start: time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC), end: time.Date(2026, 11, 28, 5, 0, 0, 0, time.UTC)},
		{args: []string{"-s", "2026-11-29"}, start: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC), end: now},
		{args: []string{"--config", "x.cfg", "--env-file", "e", "--metrics-file", "/tmp/m.prom"}, start: now.Add(-7 * 24 * time.Hour), end: now,
			check: func(o auditOptions) bool {
				return o.configPath == "x.cfg" && o.envFile == "e" && o.metricsFile == "/tmp/m.prom"
			}},
		{args: []string{"--since", "24h", "--start", "2026-11-29"}, err: "give one"},
		{args: []string{"--end", "2026-11-29"}, err: "--end needs --start"},
		{args: []string{"--since", "-3h"}, err: "positive"},
		{args: []string{"--since", "week"}, err: "72h or 7d"},
		{args: []string{"--summary", "xml"}, err: "want text or json"},
		{args: []string{"--yes"}, err: "flag provided but not defined: -yes"},
		{args: []string{"--quiet"}, err: "not defined"},
	} {
		o, err := parseAudit(tc.args, io.Discard)
		if tc.err != "" {
			var u *usageError
			if !errors.As(err, &u) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want a usage error with %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		start, end, err := o.period(now)
		if err != nil || !start.Equal(tc.start) || !end.Equal(tc.end) {
			t.Errorf("%q: period %s..%s (%v), want %s..%s", tc.args, start, end, err, tc.start, tc.end)
		}
		if tc.check != nil && !tc.check(o) {
			t.Errorf("%q: parsed as %+v", tc.args, o)
		}
	}
}

func TestParseAuditHelp(t *testing.T) {
	var out strings.Builder
	if _, err := parseAudit([]string{"--help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(out.String(), "--scan-output") || !strings.Contains(out.String(), "--repair") {
		t.Errorf("help lacks flags:\n%s", out.String())
	}
}

func TestAuditArgsFindsTheCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // nil: not audit
	}{
		{[]string{"audit", "--since", "1h"}, []string{"--since", "1h"}},
		{[]string{"--config", "c.cfg", "audit", "-v"}, []string{"--config", "c.cfg", "-v"}},
		{[]string{"--env-file=e", "--config", "c", "audit"}, []string{"--env-file=e", "--config", "c"}},
		{[]string{"--summary", "json", "audit"}, nil},
		{[]string{"subscriptions", "audit"}, nil},
		{[]string{"--config", "audit"}, nil}, // audit is the config file's name here
		{nil, nil},
	} {
		got, ok := auditArgs(tc.args)
		if ok != (tc.want != nil) || !slices.Equal(got, tc.want) {
			t.Errorf("auditArgs(%q) = %q, %v; want %q", tc.args, got, ok, tc.want)
		}
	}
}
