package cli_test

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/cli"
	"github.com/o365logfetch/o365logfetch/internal/emulator"
)

// initHarness is an emulated tenant that knows no certificate yet, and a directory init
// writes into. Its harness points at init's files, so run, lines and exactlyOnce work on them.
func initHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, clock: &clock{}, dir: filepath.Join(t.TempDir(), "o365 setup")}
	h.start(emulator.Config{Now: h.clock.Now, PageSize: 2})
	h.cfg = filepath.Join(h.dir, "o365_logs.cfg")
	h.out = filepath.Join(h.dir, "logs")
	h.debug = filepath.Join(h.dir, "debug")
	h.state = filepath.Join(h.dir, "state")
	return h
}

// runInit runs init non-interactively: no stdin. The endpoints are the emulator's, given the
// way a user of a private endpoint gives them.
func (h *harness) runInit(args ...string) (code int, stdout, stderr string) {
	h.t.Helper()
	ec := h.srv.Emulator.Config()
	base := []string{"init", "--dir", h.dir, "--tenant", ec.TenantDomain, "--tenant-id", ec.TenantID, "--client-id", ec.ClientID,
		"--authority-host", h.srv.URL, "--resource", h.srv.Resource(), "--key-bits", "2048"}
	return h.invoke(runOpts{}, append(base, args...))
}

// uploadCert registers a certificate file with the emulated app registration, as the portal's
// upload does.
func (h *harness) uploadCert(path string) *x509.Certificate {
	h.t.Helper()
	der, err := os.ReadFile(path)
	if err != nil {
		h.t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		h.t.Fatalf("%s is not a DER certificate: %v", path, err)
	}
	h.srv.RegisterCert(cert)
	return cert
}

// snapshot is the bytes of every file init wrote, to prove nothing edited them.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, name := range []string{"app.pem", "app.cer", "o365_logs.cfg", ".env"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(data)
	}
	return files
}

// From nothing to a fetch: init's files work as written once the certificate is uploaded.
func TestInitThenCheckAndFetch(t *testing.T) {
	h := initHarness(t)
	code, stdout, stderr := h.runInit("--yes")
	if code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, stdout, stderr)
	}
	written := snapshot(t, h.dir)
	thumb := regexp.MustCompile(`(?m)^ +([0-9A-F]{40})$`).FindStringSubmatch(stdout)
	for _, want := range []string{filepath.Join(h.dir, "app.cer"), "ActivityFeed.Read", "Office 365 Management APIs", "admin consent", "check", "cloud: custom endpoints"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("init's steps do not mention %q:\n%s", want, stdout)
		}
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(filepath.Join(h.dir, "app.pem"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode: %v %v, want 0600", fi.Mode(), err)
		}
	}

	// Before the upload Azure AD refuses the certificate: check says so (exit 3).
	h.mustRun(cli.ExitAuth, "check")
	cert := h.uploadCert(filepath.Join(h.dir, "app.cer"))
	if thumb == nil || thumb[1] != certThumbprint(cert) {
		t.Errorf("init printed thumbprint %v, the certificate's is %s", thumb, certThumbprint(cert))
	}

	// The .env names the config: a run started with it needs nothing else.
	env := filepath.Join(h.dir, ".env")
	stdout, _ = h.mustRun(cli.ExitOK, "--env-file", env, "check")
	if !strings.Contains(stdout, "All checks passed.") || strings.Contains(stdout, "⚠ credential") {
		t.Errorf("check:\n%s", stdout)
	}
	now := h.clock.Now()
	h.srv.Generate("Audit.Exchange", now.Add(-3*time.Hour), now.Add(-time.Minute), 30*time.Minute, 3)
	h.srv.Generate("DLP.All", now.Add(-3*time.Hour), now.Add(-time.Minute), time.Hour, 2)
	h.mustRun(cli.ExitOK, "--env-file", env)
	if n := h.exactlyOnce("Audit.Exchange"); n == 0 {
		t.Error("no Audit.Exchange records served")
	}
	h.exactlyOnce("DLP.All")
	for name, data := range snapshot(t, h.dir) {
		if data != written[name] {
			t.Errorf("%s changed after check and fetch", name)
		}
	}

	// A second init refuses: the key is never replaced, not even with --force.
	for _, force := range [][]string{{"--yes"}, {"--yes", "--force"}} {
		code, _, stderr = h.runInit(force...)
		if code != cli.ExitUsage || !strings.Contains(stderr, filepath.Join(h.dir, "app.pem")+" already exists") {
			t.Errorf("init %v over an installation: exit %d\n%s", force, code, stderr)
		}
	}
	for name, data := range snapshot(t, h.dir) {
		if data != written[name] {
			t.Errorf("%s changed by a refused init", name)
		}
	}
}

// Renewal writes beside the current credential; the configuration keeps working until the user
// switches it, and works with the new certificate after the switch.
func TestInitRenewCert(t *testing.T) {
	h := initHarness(t)
	if code, stdout, stderr := h.runInit("--yes", "--valid-days", "20"); code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, stdout, stderr)
	}
	h.uploadCert(filepath.Join(h.dir, "app.cer"))
	stdout, _ := h.mustRun(cli.ExitOK, "check")
	if !strings.Contains(stdout, "⚠ credential: the certificate expires in 19 days") ||
		!strings.Contains(stdout, "fix: run `o365logfetch init --renew-cert --config '"+h.cfg+"'`") {
		t.Errorf("check does not name the renew command:\n%s", stdout)
	}
	written := snapshot(t, h.dir)

	code, steps, stderr := h.invoke(runOpts{}, []string{"init", "--renew-cert", "--config", h.cfg})
	if code != 0 {
		t.Fatalf("init --renew-cert: exit %d\n%s%s", code, steps, stderr)
	}
	stem := filepath.Join(h.dir, "app-"+h.clock.Now().UTC().Format("20060102"))
	newCert := h.uploadCert(stem + ".cer")
	for _, want := range []string{"privateKeyFile = " + stem + ".pem", "thumbprint = " + certThumbprint(newCert), "cloud: custom endpoints"} {
		if !strings.Contains(steps, want) {
			t.Errorf("renewal steps lack %q:\n%s", want, steps)
		}
	}
	for name, data := range snapshot(t, h.dir) {
		if data != written[name] {
			t.Errorf("%s changed by the renewal", name)
		}
	}
	h.mustRun(cli.ExitOK, "check") // still the old certificate

	// The user's switch, as the steps say.
	cfg := written["o365_logs.cfg"]
	cfg = regexp.MustCompile(`(?m)^privateKeyFile = .*$`).ReplaceAllLiteralString(cfg, "privateKeyFile = "+stem+".pem")
	cfg = regexp.MustCompile(`(?m)^thumbprint = .*$`).ReplaceAllLiteralString(cfg, "thumbprint = "+certThumbprint(newCert))
	writeFile(t, h.cfg, cfg)
	stdout, _ = h.mustRun(cli.ExitOK, "check")
	if !strings.Contains(stdout, certThumbprint(newCert)) || strings.Contains(stdout, "⚠ credential") {
		t.Errorf("check after the switch:\n%s", stdout)
	}
}

// certThumbprint is the thumbprint the Azure portal shows for c.
func certThumbprint(c *x509.Certificate) string {
	sum := sha1.Sum(c.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
