package cli_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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
	ca := filepath.Join(h.dir, "ca.pem")
	writeFile(t, ca, string(h.srv.CAPEM()))
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

func TestHelpMatchesGolden(t *testing.T) {
	h := newHarness(t, setup{})
	stdout, _ := h.mustRun(0, "--help")
	golden(t, "help.golden", stdout)
}
