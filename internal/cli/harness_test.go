package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/activity"
	"github.com/o365logfetch/o365logfetch/internal/cli"
	"github.com/o365logfetch/o365logfetch/internal/emulator"
)

// RSA keys are slow to make: one registered and one unregistered credential per test binary.
var (
	credOnce           sync.Once
	appCred, otherCred *emulator.AppCredential
)

func creds(t *testing.T) (*emulator.AppCredential, *emulator.AppCredential) {
	t.Helper()
	credOnce.Do(func() {
		now := time.Now()
		var err error
		if appCred, err = emulator.NewAppCredential(now.Add(-time.Hour), now.Add(365*24*time.Hour)); err != nil {
			panic(err)
		}
		if otherCred, err = emulator.NewAppCredential(now.Add(-time.Hour), now.Add(365*24*time.Hour)); err != nil {
			panic(err)
		}
	})
	return appCred, otherCred
}

// clock is the time shared by the tool and the emulator; tests move it forward between runs.
// It stays within minutes of the wall clock: MSAL signs its assertions with the real time.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// harness is one emulated tenant plus a config directory for the tool.
type harness struct {
	t     *testing.T
	srv   *emulator.Server
	clock *clock
	dir   string
	cfg   string // config file path
	out   string // baseLogLocation
	state string // timeKeeperLocation
	debug string
	skew  time.Duration
}

type setup struct {
	emu      emulator.Config
	types    []string      // [ContentTypes]; default all five
	api      string        // extra [API_SETTINGS] lines
	fetch    string        // [FETCH] lines
	keyOnly  bool          // old tool's form: key file + thumbprint, no certificate
	wrongKey bool          // sign with a credential the app does not know
	skew     time.Duration // the tool's clock runs this far ahead of the API's
}

func newHarness(t *testing.T, s setup) *harness {
	t.Helper()
	app, other := creds(t)
	h := &harness{t: t, clock: &clock{}, dir: t.TempDir(), skew: s.skew}
	s.emu.Certs = []*x509.Certificate{app.Cert}
	if s.emu.Now == nil {
		s.emu.Now = h.clock.Now
	}
	if s.emu.PageSize == 0 {
		s.emu.PageSize = 2
	}
	h.start(s.emu)
	h.out = filepath.Join(h.dir, "out")
	h.state = filepath.Join(h.dir, "state")
	h.debug = filepath.Join(h.dir, "debug")

	cred := app
	if s.wrongKey {
		cred = other
	}
	pem := append(append([]byte{}, cred.KeyPEM...), cred.CertPEM...)
	if s.keyOnly {
		pem = cred.KeyPEM
	}
	keyFile := filepath.Join(h.dir, "app.pem")
	writeFile(t, keyFile, string(pem))

	types := s.types
	fetch := s.fetch
	if !strings.Contains(fetch, "requestsPerMinute") {
		// Pacing is tested on its own; here it would only make every test wait.
		fetch += "\nrequestsPerMinute = 60000"
	}
	h.cfg = filepath.Join(h.dir, "o365_logs.cfg")
	writeFile(t, h.cfg, h.srv.ClientConfig(emulator.ClientConfig{Dir: h.dir, KeyFile: keyFile, Thumbprint: cred.Thumbprint,
		Types: types, AutoStart: true, API: s.api, Fetch: "workers = 4\n" + fetch}))
	return h
}

// start runs the emulator of h until the test ends.
func (h *harness) start(cfg emulator.Config) {
	h.t.Helper()
	srv, err := emulator.Start(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(srv.Close)
	h.srv = srv
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// fastRetry keeps the production policy's shape with waits short enough for tests.
var fastRetry = activity.Retry{Attempts: 8, Base: 5 * time.Millisecond, Cap: 100 * time.Millisecond,
	RetryAfterCap: 200 * time.Millisecond, Budget: 20 * time.Second}

// caFile writes the emulator's CA where a child process can be pointed at it (SSL_CERT_FILE).
func (h *harness) caFile() string {
	h.t.Helper()
	ca := filepath.Join(h.dir, "ca.pem")
	writeFile(h.t, ca, string(h.srv.CAPEM()))
	return ca
}

// run runs the tool in-process against the emulator.
func (h *harness) run(args ...string) (code int, stdout, stderr string) {
	h.t.Helper()
	var out, errOut bytes.Buffer
	now := func() time.Time { return h.clock.Now().Add(h.skew) }
	app := cli.App{Stdout: &out, Stderr: &errOut, HTTP: h.srv.Client(), Now: now, Retry: fastRetry}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code = app.Run(ctx, append([]string{"--config", h.cfg}, args...))
	return code, out.String(), errOut.String()
}

// mustRun runs and fails the test unless the exit code is want.
func (h *harness) mustRun(want int, args ...string) (stdout, stderr string) {
	h.t.Helper()
	code, stdout, stderr := h.run(args...)
	if code != want {
		h.t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
	}
	return stdout, stderr
}

// lines reads a content type's output file: every line must be a complete JSON object.
func (h *harness) lines(contentType string) []map[string]any {
	h.t.Helper()
	data, err := os.ReadFile(filepath.Join(h.out, contentType+".log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		h.t.Fatalf("%s.log does not end in a newline", contentType)
	}
	var recs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		var rec map[string]any
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&rec); err != nil {
			h.t.Fatalf("%s.log line %d is not a JSON object: %v\n%s", contentType, n, err, sc.Text())
		}
		recs = append(recs, rec)
	}
	return recs
}

// exactlyOnce checks that every record the emulator serves for the type is in its file once,
// with its blob's metadata, and nothing else is.
func (h *harness) exactlyOnce(contentType string) int {
	h.t.Helper()
	blobOf := map[string]emulator.Blob{}
	for _, b := range h.srv.Blobs(contentType) {
		for _, id := range b.RecordIDs {
			if _, ok := blobOf[id]; !ok {
				blobOf[id] = b
			}
		}
	}
	count := map[string]int{}
	for i, rec := range h.lines(contentType) {
		id, _ := rec["Id"].(string)
		count[id]++
		b, ok := blobOf[id]
		if !ok {
			h.t.Errorf("%s line %d: record %q is not served by the emulator", contentType, i+1, id)
			continue
		}
		if rec["contentType"] != contentType || rec["contentId"] == nil || rec["contentUri"] == nil ||
			rec["contentCreated"] == nil || rec["contentExpiration"] == nil {
			h.t.Errorf("%s line %d: metadata missing: %v", contentType, i+1, rec)
		}
		_ = b
	}
	for id := range blobOf {
		if count[id] != 1 {
			h.t.Errorf("%s: record %s written %d times, want once", contentType, id, count[id])
		}
	}
	return len(blobOf)
}

// publisherOnEvery checks that every Activity API request carried PublisherIdentifier (without
// it a request is charged to the quota shared by all publishers), and returns how many API
// requests there were.
func (h *harness) publisherOnEvery() int {
	h.t.Helper()
	n := 0
	for _, r := range h.srv.Requests() {
		switch r.Kind {
		case "token", "discovery":
			continue
		}
		n++
		if !strings.EqualFold(r.PublisherID, h.srv.Config().TenantID) {
			h.t.Errorf("%s %s?%s without PublisherIdentifier (HTTP %d)", r.Method, r.Path, r.RawQuery, r.Status)
		}
	}
	return n
}
