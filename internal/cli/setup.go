package cli

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/activity"
	"github.com/o365logfetch/o365logfetch/internal/auth"
	"github.com/o365logfetch/o365logfetch/internal/config"
	"github.com/o365logfetch/o365logfetch/internal/layout"
)

// session is what every API command needs: a logger writing debug.log (and warnings to
// stderr), a token source and an API client.
type session struct {
	log     *slog.Logger
	detail  *slog.Logger // debug.log alone: lines that many blobs may each produce
	tokens  *auth.Source
	api     *activity.Client
	logFile *os.File
}

func (s *session) close() {
	if s.logFile != nil {
		s.logFile.Close()
	}
}

// connect loads the credential, prepares the directories and the log, and builds the clients.
// It touches no output file, so a bad config or key leaves the user's files as they were.
func (a App) connect(cfg *config.Config) (*session, error) {
	if err := preflight(cfg, a.Stderr); err != nil {
		return nil, err
	}
	hc, err := a.httpClient(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DebugLogDir, 0o750); err != nil {
		return nil, &setupError{fmt.Errorf("[LOGGING] debugLogLocation: %w", err)}
	}
	s := &session{}
	logPath := filepath.Join(cfg.DebugLogDir, layout.DebugLog)
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, &setupError{fmt.Errorf("debug log: %w", err)}
	}
	s.logFile = logFile
	s.log = newLogger(logFile, cfg.LogLevel, a.Stderr)
	s.detail = slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: cfg.LogLevel}))
	s.tokens, err = auth.New(authSettings(cfg, s.log), hc, a.Now)
	if err != nil {
		s.close()
		return nil, err
	}
	for _, d := range []struct {
		dir  string
		mode os.FileMode
		key  string
	}{
		{cfg.BaseLogDir, 0o750, "baseLogLocation"},
		{cfg.StateDir, 0o700, "timeKeeperLocation"},
	} {
		if err := os.MkdirAll(d.dir, d.mode); err != nil {
			s.close()
			return nil, &setupError{fmt.Errorf("[LOGGING] %s: %w", d.key, err)}
		}
	}
	s.api, err = activity.New(activity.Options{
		Root:              cfg.APIRoot,
		PublisherID:       cfg.PublisherID,
		HTTP:              hc,
		Tokens:            s.tokens,
		RequestsPerMinute: cfg.RequestsPerMinute,
		Retry:             a.Retry,
		Now:               a.Now,
		Log:               s.log,
	})
	if err != nil {
		s.close()
		return nil, &setupError{err}
	}
	return s, nil
}

// authSettings is the token side of cfg.
func authSettings(cfg *config.Config, log *slog.Logger) auth.Settings {
	return auth.Settings{
		AuthorityHost:   cfg.AuthorityHost,
		Tenant:          cfg.Tenant,
		ClientID:        cfg.ClientID,
		Resource:        cfg.Resource,
		PrivateKeyFile:  cfg.PrivateKeyFile,
		CertificateFile: cfg.CertificateFile,
		Thumbprint:      cfg.Thumbprint,
		PFXFile:         cfg.PFXFile,
		PFXPassword:     cfg.PFXPassword.Value(),
		ClientSecret:    cfg.ClientSecret.Value(),
		Logger:          log,
	}
}

// httpClient is the one client for Azure AD and the API: App.HTTP when set (it carries the trust
// roots, e.g. a test's private CA), else the default one. The proxy setting replaces whatever
// proxy choice the client made (HTTPS_PROXY/NO_PROXY for the default one), on a copy so the
// caller's client is left as it was.
func (a App) httpClient(cfg *config.Config) (*http.Client, error) {
	hc := a.HTTP
	if hc == nil {
		hc = defaultHTTPClient(cfg.Workers, http2Allowed(a.Env))
	}
	if cfg.Proxy == "" {
		return hc, nil
	}
	u, err := url.Parse(cfg.Proxy)
	if err != nil {
		return nil, &setupError{fmt.Errorf("[API_SETTINGS] proxy: %w", err)}
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	tr, ok := base.(*http.Transport)
	if !ok {
		return nil, &setupError{fmt.Errorf("[API_SETTINGS] proxy: the HTTP client's transport %T cannot take a proxy", base)}
	}
	tr = tr.Clone()
	tr.Proxy = http.ProxyURL(u)
	c := *hc
	c.Transport = tr
	return &c, nil
}

// newLogger writes everything at level and above to the debug log, and warnings and errors
// also to stderr so that cron mail carries them.
func newLogger(file io.Writer, level slog.Level, stderr io.Writer) *slog.Logger {
	fileHandler := slog.NewTextHandler(file, &slog.HandlerOptions{Level: level})
	stderrHandler := slog.NewTextHandler(stderr, &slog.HandlerOptions{
		Level: max(slog.LevelWarn, level),
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{} // cron mail has its own date; keep the line short
			}
			return a
		},
	})
	return slog.New(slog.NewMultiHandler(fileHandler, stderrHandler))
}

// defaultHTTPClient verifies TLS against the system roots (Go honours SSL_CERT_FILE and
// SSL_CERT_DIR) and goes through HTTPS_PROXY unless NO_PROXY says otherwise. It speaks
// HTTP/1.1 over a connection per worker unless http2 allows HTTP/2: measured against a server
// offering both, HTTP/2 on its one connection cost more CPU and no less time (every body
// passes through the connection's single reader, its flow control and a copy more), see
// README.md, Performance.
func defaultHTTPClient(workers int, http2 bool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = workers + 4
	tr.ResponseHeaderTimeout = 2 * time.Minute
	if !http2 {
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetHTTP1(true)
	}
	return &http.Client{Transport: tr}
}

// http2Allowed reports whether GODEBUG in env asks for Go's HTTP/2 client (http2client=1),
// which then carries every request over one connection when the server offers HTTP/2.
func http2Allowed(env []string) bool {
	allowed := false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			for setting := range strings.SplitSeq(v, ",") {
				switch strings.TrimSpace(setting) {
				case "http2client=1":
					allowed = true
				case "http2client=0":
					allowed = false
				}
			}
		}
	}
	return allowed
}
