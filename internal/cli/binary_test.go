package cli_test

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
)

func TestHelpMatchesGolden(t *testing.T) {
	h := newHarness(t, setup{})
	stdout, _ := h.mustRun(0, "--help")
	golden(t, "help.golden", stdout)
}

// The binary honours HTTPS_PROXY and NO_PROXY from the environment for the token endpoint and
// the API alike. The emulator is named by a host that resolves nowhere, so only the proxy can
// reach it (Go never proxies loopback addresses).
func TestBinaryHonoursHTTPSProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}})
	now := time.Now()
	h.srv.Generate("Audit.Exchange", now.Add(-2*time.Hour), now.Add(-time.Minute), 30*time.Minute, 2)
	loopback := h.srv.URL
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(loopback, "https://"))
	h.srv.UseHost(emulator.ProxiedHost)
	replaceInFile(t, h.cfg, loopback, h.srv.URL)
	ca := h.caFile()
	proxy := startProxy(t, false)
	proxy.Resolve(net.JoinHostPort(emulator.ProxiedHost, port), "127.0.0.1:"+port)

	run := func(extra ...string) (int, string) {
		cmd := exec.Command(bin, "--config", h.cfg)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "SSL_CERT_FILE=" + ca, "HTTPS_PROXY=" + proxy.URL()}, extra...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	if code, out := run(); code != 0 {
		t.Fatalf("exit %d through the proxy:\n%s", code, out)
	}
	h.exactlyOnce("Audit.Exchange")
	tunnels := proxy.Tunnels()
	kinds := map[string]bool{}
	for _, r := range h.srv.Requests() {
		kinds[r.Kind] = true
	}
	if len(tunnels) == 0 || !kinds["token"] || !kinds["blob"] {
		t.Fatalf("tunnels %v, request kinds %v: the token endpoint and the API must both go through the proxy", tunnels, kinds)
	}
	// NO_PROXY names the host: the binary goes direct, cannot resolve it, and fails clearly.
	if code, out := run("NO_PROXY=" + emulator.ProxiedHost); code == 0 || len(proxy.Tunnels()) != len(tunnels) {
		t.Errorf("with NO_PROXY: exit %d, tunnels %d → %d\n%s", code, len(tunnels), len(proxy.Tunnels()), out)
	}
}
