package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/activity"

	"github.com/o365logfetch/o365logfetch/internal/cli"
	"github.com/o365logfetch/o365logfetch/internal/emulator"
	"github.com/o365logfetch/o365logfetch/internal/retry/retrytest"
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

// fastRetry is the tests' one retry policy.
var fastRetry = retrytest.Policy

// caFile writes the emulator's CA where a child process can be pointed at it (SSL_CERT_FILE).
func (h *harness) caFile() string {
	h.t.Helper()
	ca := filepath.Join(h.dir, "ca.pem")
	writeFile(h.t, ca, string(h.srv.CAPEM()))
	return ca
}

// runOpts vary one in-process run; the zero value is a plain run.
type runOpts struct {
	env   []string       // the process environment
	http  *http.Client   // nil: the emulator's client
	retry activity.Retry // zero: fastRetry
}

// invoke is the one in-process runner: the tool's App on the harness's clock (skewed as set
// up), run with args and a two-minute bound.
func (h *harness) invoke(o runOpts, args []string) (code int, stdout, stderr string) {
	h.t.Helper()
	if o.http == nil {
		o.http = h.srv.Client()
	}
	if o.retry == (activity.Retry{}) {
		o.retry = fastRetry
	}
	var out, errOut bytes.Buffer
	now := func() time.Time { return h.clock.Now().Add(h.skew) }
	app := cli.App{Env: o.env, Stdout: &out, Stderr: &errOut, HTTP: o.http, Now: now, Retry: o.retry}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code = app.Run(ctx, args)
	return code, out.String(), errOut.String()
}

// run runs the tool with the harness's config against the emulator.
func (h *harness) run(args ...string) (code int, stdout, stderr string) {
	h.t.Helper()
	return h.invoke(runOpts{}, append([]string{"--config", h.cfg}, args...))
}

// runWith is run with an environment and quick retries.
func (h *harness) runWith(env []string, args ...string) (code int, stdout, stderr string) {
	h.t.Helper()
	return h.invoke(runOpts{env: env, retry: fastRetry}, append([]string{"--config", h.cfg}, args...))
}

// runApp is run with extra environment variables; runAppHTTP also with another client (the
// proxy test).
func (h *harness) runApp(env []string, args ...string) (code int, stdout, stderr string) {
	h.t.Helper()
	return h.runAppHTTP(nil, env, args...)
}

func (h *harness) runAppHTTP(hc *http.Client, env []string, args ...string) (code int, stdout, stderr string) {
	h.t.Helper()
	return h.invoke(runOpts{env: env, http: hc}, append([]string{"--config", h.cfg}, args...))
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

// editConfig rewrites the harness's config file.
func (h *harness) editConfig(edit func(string) string) {
	h.t.Helper()
	data, err := os.ReadFile(h.cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	writeFile(h.t, h.cfg, edit(string(data)))
}

// dropLine removes the config line starting with prefix.
func dropLine(text, prefix string) string {
	var keep []string
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, prefix) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func replaceInFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	writeFile(t, path, strings.ReplaceAll(string(data), old, new))
}

var update = flag.Bool("update", false, "rewrite golden files")

// The compiled binary, handed the emulator's CA through SSL_CERT_FILE as a user of a private
// CA would do: TLS is verified with nothing but the system's own mechanism.
func TestBinaryWithSSLCertFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	h := newHarness(t, setup{types: []string{"Audit.Exchange", "DLP.All"}})
	now := time.Now()
	h.srv.Generate("Audit.Exchange", now.Add(-2*time.Hour), now.Add(-time.Minute), 20*time.Minute, 4)
	h.srv.Generate("DLP.All", now.Add(-2*time.Hour), now.Add(-time.Minute), time.Hour, 2)
	ca := h.caFile()
	env := filepath.Join(h.dir, "test.env")
	writeFile(t, env, "O365_MANAGEMENT_API_CONFIG="+h.cfg+"\nO365_LOG_LEVEL=DEBUG\n")

	run := func(extraEnv ...string) (int, string) {
		cmd := exec.Command(bin, "--env-file", env)
		cmd.Dir = h.dir
		// A zone far from UTC (+13:45): every time sent to the API must still be UTC.
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + h.dir, "TZ=Pacific/Chatham"}, extraEnv...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), stderr.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, stderr.String()
	}

	// Without the CA the emulator's certificate is not trusted: the run must fail, not fetch.
	if code, stderr := run("SSL_CERT_FILE=" + filepath.Join(h.dir, "app.pem")); code == 0 {
		t.Fatalf("run without the emulator's CA succeeded:\n%s", stderr)
	}
	if code, stderr := run("SSL_CERT_FILE=" + ca); code != 0 {
		t.Fatalf("exit code %d\n%s", code, stderr)
	}
	h.exactlyOnce("Audit.Exchange")
	h.exactlyOnce("DLP.All")
	debugLog, err := os.ReadFile(filepath.Join(h.debug, "debug.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(debugLog), "run finished") {
		t.Errorf("debug.log lacks the run summary:\n%s", debugLog)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs; if intended, run with -update\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

// buildBinary compiles o365logfetch once per test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "o365logfetch-test-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "o365logfetch")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/o365logfetch/o365logfetch/cmd/o365logfetch").CombinedOutput()
		if err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("go build: %v", binErr)
	}
	return binPath
}

func containsID(recs []map[string]any, id string) bool {
	for _, r := range recs {
		if r["Id"] == id {
			return true
		}
	}
	return false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) + "\n" }

// savedType is a content type's part of the state file, as far as these tests look.
type savedType struct {
	End     time.Time                  `json:"end"`
	Pending map[string]json.RawMessage `json:"pending"`
}

func (h *harness) saved(contentType string) savedType {
	h.t.Helper()
	data, err := os.ReadFile(filepath.Join(h.state, "o365logfetch-state.json"))
	if os.IsNotExist(err) {
		return savedType{}
	}
	if err != nil {
		h.t.Fatal(err)
	}
	var st struct {
		Types map[string]savedType `json:"types"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		h.t.Fatalf("state file: %v\n%s", err, data)
	}
	return st.Types[contentType]
}

// otherOrigin names the emulator by another name: a request that followed it would arrive
// (the certificate covers localhost) and show up with that Host.
func otherOrigin(h *harness) string { return strings.Replace(h.srv.URL, "127.0.0.1", "localhost", 1) }

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
}

// interruptBinary runs the compiled tool with args, SSL_CERT_FILE naming the emulator's CA,
// sends it sig once the emulator has served downloads blobs, and returns its exit code, when
// the signal was sent and what it wrote to stderr.
func (h *harness) interruptBinary(bin string, downloads int, sig os.Signal, args ...string) (code int, sent time.Time, stderr *bytes.Buffer) {
	h.t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "SSL_CERT_FILE=" + h.caFile()}
	stderr = &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	waitFor(h.t, func() bool { return h.srv.Stats().BlobDownloads >= downloads })
	sent = time.Now()
	_ = cmd.Process.Signal(sig)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		h.t.Fatalf("after the signal: %v, want an exit code\n%s", err, stderr.String())
	}
	return ee.ExitCode(), sent, stderr
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
