package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestInterpolate(t *testing.T) {
	vars := map[string]string{
		"host":  "manage.office.com",
		"root":  "https://%(host)s",
		"api":   "%(root)s/api",
		"pct":   "100%%",
		"loop":  "%(loop)s",
		"ping":  "%(pong)s",
		"pong":  "%(ping)s",
		"bad":   "50%",
		"plain": "%(x",
	}
	// ca → cb → … → cl: the value being read is level 1, so "%(cd)s" needs
	// 10 levels (as in Python's ConfigParser) and "%(cc)s" 11.
	for i := 0; i < 11; i++ {
		vars["c"+string(rune('a'+i))] = "%(c" + string(rune('a'+i+1)) + ")s"
	}
	vars["cl"] = "end%%"
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }

	tests := []struct {
		name    string
		raw     string
		want    string
		wantErr string
	}{
		{name: "no references", raw: "https://manage.office.com", want: "https://manage.office.com"},
		{name: "double percent", raw: "100%%", want: "100%"},
		{name: "double percent twice", raw: "%%%%(host)s", want: "%%(host)s"},
		{name: "simple", raw: "%(host)s/x", want: "manage.office.com/x"},
		{name: "case-insensitive name", raw: "%(HOST)s", want: "manage.office.com"},
		{name: "recursive", raw: "%(api)s/v1", want: "https://manage.office.com/api/v1"},
		{name: "percent in referenced value", raw: "%(pct)s", want: "100%"},
		{name: "ten levels deep", raw: "%(cd)s", want: "end%"},
		{name: "eleven levels deep", raw: "%(cc)s", wantErr: "deeper than 10"},
		{name: "self reference", raw: "%(loop)s", wantErr: "deeper than 10"},
		{name: "mutual reference", raw: "%(ping)s", wantErr: "deeper than 10"},
		{name: "unknown", raw: "%(nothing)s", wantErr: "unknown reference %(nothing)s"},
		{name: "lone percent", raw: "50%", wantErr: "must be followed by"},
		{name: "percent letter", raw: "%d", wantErr: "must be followed by"},
		{name: "unclosed", raw: "%(host", wantErr: "bad reference"},
		{name: "wrong conversion", raw: "%(host)d", wantErr: "bad reference"},
		{name: "empty name", raw: "%()s", wantErr: "bad reference"},
		{name: "bad inside referenced value", raw: "x%(bad)s", wantErr: "must be followed by"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := interpolate(tt.raw, lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestInterpolationInFile checks that references see the key's own section
// first, then [DEFAULT], and that errors name the key being read.
func TestInterpolationInFile(t *testing.T) {
	tests := []struct {
		name    string
		extra   string
		check   func(*Config) string
		want    string
		wantKey string
		wantMsg string
	}{
		{
			name:  "own section wins over DEFAULT",
			extra: "[DEFAULT]\nhost = wrong.example.com\n[API_SETTINGS]\nhost = manage.office365.us\nresource = https://%(host)s\n",
			check: func(c *Config) string { return c.Resource },
			want:  "https://manage.office365.us",
		},
		{
			name:  "DEFAULT key referenced from a section",
			extra: "[DEFAULT]\nroot = /data\n[LOGGING]\nbaseLogLocation = %(root)s/logs\n",
			check: func(c *Config) string { return c.BaseLogDir },
			want:  "/data/logs",
		},
		{
			name:  "DEFAULT value referring to a section key",
			extra: "[DEFAULT]\nlogs = %(base)s/logs\n[LOGGING]\nbase = /srv\nbaseLogLocation = %(logs)s\n",
			check: func(c *Config) string { return c.BaseLogDir },
			want:  "/srv/logs",
		},
		{
			name:    "other sections are not visible",
			extra:   "[LOGGING]\nbaseLogLocation = %(tenantid)s\n",
			wantKey: "baseLogLocation", wantMsg: "no key \"tenantid\" in [LOGGING] or [DEFAULT]",
		},
		{
			name:    "loop",
			extra:   "[API_SETTINGS]\nresource = %(resource)s\n",
			wantKey: "resource", wantMsg: "deeper than 10",
		},
		{
			name:  "literal percent",
			extra: "[LOGGING]\nbaseLogLocation = /logs/100%%\n",
			check: func(c *Config) string { return c.BaseLogDir },
			want:  "/logs/100%",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, minimal+tt.extra), nil)
			if tt.wantKey != "" {
				var e *Error
				if !errors.As(err, &e) || e.Key != tt.wantKey || !strings.Contains(e.Msg, tt.wantMsg) {
					t.Fatalf("got %v, want *Error on %s containing %q", err, tt.wantKey, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.check(c); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzInterpolate(f *testing.F) {
	for _, s := range []string{"", "abc", "%%", "%(a)s", "%(b)s%%", "%(", "%(a", "%(a)", "%(A)s", "%", "%x", "%(loop)s"} {
		f.Add(s, "x%(loop)s")
	}
	f.Fuzz(func(t *testing.T, raw, other string) {
		vars := map[string]string{"a": "A", "b": other, "loop": "%(loop)s"}
		lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
		got, err := interpolate(raw, lookup)
		if err != nil {
			return
		}
		if !strings.Contains(raw, "%") && got != raw {
			t.Fatalf("%q without %% became %q", raw, got)
		}
		// Escaping every % must give the input back.
		back, err := interpolate(strings.ReplaceAll(raw, "%", "%%"), lookup)
		if err != nil || back != raw {
			t.Fatalf("escaped %q came back as %q, %v", raw, back, err)
		}
	})
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(seed))
	f.Add([]byte(minimal))
	f.Add([]byte("[DEFAULT]\na = %(a)s\n[API_SETTINGS]\ntenantId = %(a)s\n"))
	f.Add([]byte("\ufeff[ContentTypes]\nAudit.Exchange\n\"\"\"x\n`y\n"))
	f.Add([]byte("[x]\n- = 1\n[x.y]\nk = \\\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "o365_logs.cfg")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path, nil)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not a *Error", err, err)
			}
			return
		}
		for _, ct := range c.ContentTypes {
			if _, ok := CanonicalContentType(ct); !ok || strings.ContainsAny(ct, `/\`) {
				t.Fatalf("content type %q escaped validation", ct)
			}
		}
	})
}

func TestInterpolationBlowUp(t *testing.T) {
	var b strings.Builder
	b.WriteString("[LOGGING]\nc9 = xxxxxxxxxxxxxxxx\n")
	for i := 8; i >= 0; i-- {
		fmt.Fprintf(&b, "c%d = %s\n", i, strings.Repeat(fmt.Sprintf("%%(c%d)s", i+1), 10))
	}
	b.WriteString("baseLogLocation = %(c0)s\n")
	start := time.Now()
	_, err := Load(writeConfig(t, minimal+b.String()), nil)
	var e *Error
	if !errors.As(err, &e) || e.Key != "baseLogLocation" || !strings.Contains(e.Msg, "KiB") {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
}
