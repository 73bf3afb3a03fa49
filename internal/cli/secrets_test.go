package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
)

// At debug level, nothing that grants access reaches debug.log or stderr: no access token, no
// client assertion, no key material, no Authorization header — on success, on retries, on a
// refused redirect and on a refused credential.
func TestNoSecretsInLogs(t *testing.T) {
	tests := []struct {
		name     string
		s        setup
		arm      func(h *harness, b []emulator.Blob)
		wantCode int
	}{
		{"full fetch with retries and a refused redirect", setup{types: []string{"Audit.Exchange", "Audit.General"}},
			func(h *harness, b []emulator.Blob) {
				h.srv.SetFaults(emulator.Faults{ServerError: 0.15, Throttle429: 0.1})
				h.srv.SetBlobAnswer(b[0].ContentID, &emulator.Answer{Status: 307, Header: map[string]string{"Location": otherOrigin(h) + "/x"}})
			}, 1},
		{"credential refused", setup{types: []string{"Audit.Exchange"}, wrongKey: true}, nil, 3},
		{"old key-only credential", setup{types: []string{"Audit.Exchange"}, keyOnly: true}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.s.emu.Seed = 6
			h := newHarness(t, tt.s)
			now := h.clock.Now()
			var blobs []emulator.Blob
			for _, ct := range tt.s.types {
				blobs = append(blobs, h.srv.Generate(ct, now.Add(-2*time.Hour), now.Add(-time.Minute), 20*time.Minute, 2)...)
			}
			if tt.arm != nil {
				tt.arm(h, blobs)
			}
			code, stdout, stderr := h.runWith([]string{"O365_LOG_LEVEL=DEBUG"})
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d\nstderr:\n%s", code, tt.wantCode, stderr)
			}
			debugLog, err := os.ReadFile(filepath.Join(h.debug, "debug.log"))
			if err != nil {
				t.Fatal(err)
			}
			// Without these the search below would prove nothing.
			if tt.wantCode == 3 && !strings.Contains(stderr, "700027") {
				t.Fatalf("the refused credential is not reported:\n%s", stderr)
			}
			if tt.wantCode != 3 && !strings.Contains(string(debugLog), "level=DEBUG") {
				t.Fatalf("debug.log has no DEBUG line\n%s", debugLog)
			}
			app, other := creds(t)
			secrets := map[string]string{"Authorization header": "Authorization", "bearer scheme": "Bearer "}
			for i, tok := range h.srv.IssuedTokens() {
				secrets["access token "+fmt.Sprint(i)] = tok
				secrets["access token signature "+fmt.Sprint(i)] = tok[strings.LastIndex(tok, ".")+1:]
			}
			for i, a := range h.srv.Assertions() {
				secrets["client assertion "+fmt.Sprint(i)] = a
				secrets["client assertion signature "+fmt.Sprint(i)] = a[strings.LastIndex(a, ".")+1:]
			}
			if tt.wantCode != 3 && len(h.srv.IssuedTokens()) == 0 {
				t.Fatal("no token was issued")
			}
			if len(h.srv.Assertions()) == 0 {
				t.Fatal("no assertion was posted")
			}
			for _, key := range [][]byte{app.KeyPEM, other.KeyPEM} {
				for i, line := range strings.Split(string(key), "\n") {
					if len(line) >= 32 && !strings.HasPrefix(line, "-----") {
						secrets["private key line "+fmt.Sprint(i)] = line
					}
				}
			}
			for where, text := range map[string]string{"debug.log": string(debugLog), "stderr": stderr, "stdout": stdout} {
				for what, secret := range secrets {
					if strings.Contains(text, secret) {
						t.Errorf("%s contains the %s", where, what)
					}
				}
			}
		})
	}
}
