// Package cli is the command line of o365logfetch: flags, the .env and config load order,
// logging, wiring, and the one error → exit code map.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/o365logfetch/o365logfetch/internal/activity"
	"github.com/o365logfetch/o365logfetch/internal/config"
	"github.com/o365logfetch/o365logfetch/internal/window"
)

// App holds what a run depends on from the outside world, so tests can run it in-process.
type App struct {
	Env    []string // KEY=value, as os.Environ
	Stdout io.Writer
	Stderr io.Writer
	// HTTP is the client for Azure AD and the API. Nil: one that verifies TLS against the system
	// roots (SSL_CERT_FILE/SSL_CERT_DIR honoured) and honours HTTPS_PROXY/NO_PROXY.
	HTTP *http.Client
	Now  func() time.Time // nil: time.Now
	// Retry is the API retry policy; zero: activity.DefaultRetry (tests shorten the waits).
	Retry activity.Retry
	// Stdin is where init reads the answers to its questions; nil: init never asks.
	Stdin io.Reader
	// StdinIsTerminal says whether someone at a terminal types into Stdin; nil: true only when
	// Stdin is a terminal *os.File.
	StdinIsTerminal func() bool
}

// Main runs o365logfetch with the process's arguments and environment and returns the exit code.
func Main(ctx context.Context, args, env []string, stdout, stderr io.Writer) int {
	return App{Env: env, Stdout: stdout, Stderr: stderr, Stdin: os.Stdin}.Run(ctx, args)
}

// Run parses args, runs the command and returns its exit code. Errors are printed once.
func (a App) Run(ctx context.Context, args []string) int {
	if a.Now == nil {
		a.Now = time.Now
	}
	err := a.run(ctx, args)
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	code := exitCode(err)
	fmt.Fprintf(a.Stderr, "o365logfetch: %v\n", err)
	if code == ExitUsage {
		var u *usageError
		if errors.As(err, &u) {
			help := "o365logfetch --help"
			if len(args) > 0 && args[0] == "init" {
				help = "o365logfetch init --help"
			}
			fmt.Fprintf(a.Stderr, "Run '%s' for usage.\n", help)
		}
	}
	return code
}

const usage = `o365logfetch pulls Microsoft 365 audit logs from the Office 365 Management Activity API and
appends them as JSON lines to one file per content type (<baseLogLocation>/<ContentType>.log).

Usage:
  o365logfetch [flags]                          fetch everything new since the last run (for cron)
  o365logfetch [flags] --start S --end E        backfill [S, E): at most the last 7 days
  o365logfetch [flags] subscriptions list       show the subscription of every content type
  o365logfetch [flags] subscriptions start [TYPE...]
                                                start subscriptions (default: the configured types)
  o365logfetch [flags] subscriptions stop --yes TYPE...
                                                stop subscriptions: content of the stopped period is lost
  o365logfetch [flags] check                    walk the setup (config, credential, token, permission,
                                                subscriptions, directories, clock, progress): ✔/✘ each
  o365logfetch [flags] audit [TYPE...]          list every blob Microsoft holds for the last 7 days
                                                and report which are missing from the output
                                                (o365logfetch audit --help lists its flags)
  o365logfetch version                          print version information
  o365logfetch init [flags]                     make a key, a certificate, o365_logs.cfg and .env,
                                                and print the steps left in the Azure portal
                                                (o365logfetch init --help lists its flags)

Flags come before or after the command words. Each command takes only its own flags (and the
global ones); a flag given to another command is refused.

Global flags (every command):
  --config FILE     config file (default: $O365_MANAGEMENT_API_CONFIG, else ./o365_logs.cfg)
  --env-file FILE   .env file to read (default: ./.env when present); variables already set in
                    the environment win over the file
  -h, --help        show this help

Fetch flags (no command):
  --start TIME      backfill start; RFC 3339 (2026-11-25T09:00:00Z), YYYY-MM-DDTHH:MM:SS (UTC),
                    YYYY-MM-DD (UTC midnight) or epoch seconds
  --end TIME        backfill end (same forms; default: now)
  -s, --start_time, -e, --end_time
                    the previous tool's names of --start and --end
  --summary FORMAT  after the fetch, print the run summary: "text" on stderr, or "json" as one
                    object on stdout (default: text on stderr when it is a terminal, else none)
  --quiet           no progress bar and no summary on a terminal (warnings and errors still go
                    to stderr)
  --metrics-file FILE
                    after the fetch, replace FILE with Prometheus metrics for node_exporter's
                    textfile collector (last success time, records, bytes, failures, lag)

subscriptions stop flags:
  --yes             confirm: the content of the stopped period is lost

Environment:
  O365_MANAGEMENT_API_CONFIG   config file path (--config wins)
  O365_DEBUG_LOG_LOCATION      directory of debug.log (overrides [LOGGING] debugLogLocation)
  O365_LOG_LEVEL               DEBUG, INFO (default), WARNING or ERROR

Exit codes:
  0  everything fetched
  1  some content could not be fetched (progress kept; the next run retries it)
  2  usage or configuration error
  3  authentication or permission error
  4  another run holds the lock
  5  a local storage fault (disk full, quota, read-only filesystem, I/O error) stopped the run
     (what was written is kept; make room and run again)
`

func (a App) run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "init" {
		return a.initCmd(ctx, args[1:]) // its own flags
	}
	if rest, ok := auditArgs(args); ok {
		return a.auditCmd(ctx, rest) // its own flags
	}
	cl, err := parseArgs(args, a.Stdout)
	if err != nil {
		return err
	}
	switch cl.command {
	case "help":
		fmt.Fprint(a.Stdout, usage)
		return nil
	case "version":
		fmt.Fprintln(a.Stdout, versionString())
		return nil
	}
	var bf backfill
	if cl.fetch.start != "" || cl.fetch.end != "" {
		if bf, err = parseBackfill(cl.fetch.start, cl.fetch.end, a.Now()); err != nil {
			return err
		}
	}
	getenv, err := loadEnv(cl.global.envFile, a.Env)
	if err != nil {
		return err
	}
	path := configFile(cl.global.configPath, getenv)
	if cl.command == "check" {
		// check reports a config that does not load as its first ✘.
		return a.check(ctx, path, getenv)
	}
	cfg, err := config.Load(path, getenv)
	if err != nil {
		return err
	}
	if cl.command == "subscriptions" {
		return a.subscriptions(ctx, cfg, cl.subs)
	}
	return a.fetch(ctx, cfg, bf, cl.fetch)
}

// backfill is a --start/--end range; zero Start means a cron run.
type backfill struct{ Start, End time.Time }

func parseBackfill(start, end string, now time.Time) (backfill, error) {
	var bf backfill
	if start == "" {
		return bf, &usageError{"--end needs --start"}
	}
	var err error
	if bf.Start, err = window.Parse(start); err != nil {
		return bf, &usageError{"--start: " + err.Error()}
	}
	bf.End = now.UTC().Truncate(time.Second)
	if end != "" {
		if bf.End, err = window.Parse(end); err != nil {
			return bf, &usageError{"--end: " + err.Error()}
		}
	}
	if !bf.Start.Before(bf.End) {
		return bf, &usageError{fmt.Sprintf("--start %s is not before --end %s", window.Format(bf.Start), window.Format(bf.End))}
	}
	if bf.Start.After(now) {
		return bf, &usageError{fmt.Sprintf("--start %s lies in the future", window.Format(bf.Start))}
	}
	return bf, nil
}

// loadConfig loads the config the way every command finds it: the .env file under the
// environment, then --config, $O365_MANAGEMENT_API_CONFIG or ./o365_logs.cfg.
func (a App) loadConfig(configPath, envFile string) (*config.Config, error) {
	getenv, err := loadEnv(envFile, a.Env)
	if err != nil {
		return nil, err
	}
	return config.Load(configFile(configPath, getenv), getenv)
}

// loadEnv merges a .env file under the real environment: a variable already set in the
// environment (by cron, systemd, Task Scheduler) wins over the file, as godotenv.Load does.
func loadEnv(envFile string, environ []string) (func(string) string, error) {
	vars := map[string]string{}
	path := envFile
	if path == "" {
		if _, err := os.Stat(".env"); err == nil {
			path = ".env"
		}
	}
	if path != "" {
		fileVars, err := godotenv.Read(path)
		if err != nil {
			return nil, &usageError{fmt.Sprintf("env file %s: %v", path, err)}
		}
		for k, v := range fileVars {
			vars[k] = v
		}
	}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	return func(k string) string { return vars[k] }, nil
}

// auditArgs finds the audit command: the first word, or the first after --config and
// --env-file. It returns audit's arguments, those two flags included.
func auditArgs(args []string) ([]string, bool) {
	for i := 0; i < len(args); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		switch {
		case args[i] == "audit":
			return append(slices.Clone(args[:i]), args[i+1:]...), true
		case !strings.HasPrefix(args[i], "-") || args[i] == "--" || (name != "config" && name != "env-file"):
			return nil, false
		case !hasValue:
			i++ // the flag's value
		}
	}
	return nil, false
}
