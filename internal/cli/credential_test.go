package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
)

// Each credential kind gets a token from the emulator and lists subscriptions; the secret never
// shows in what the tool prints, check included.
func TestCredentialKinds(t *testing.T) {
	app, _ := creds(t)
	const secret = "Zx8~q.secret-value-0123456789"
	modern, err := pkcs12.Modern.Encode(app.Key, app.Cert, nil, "pfx-pass")
	if err != nil {
		t.Fatal(err)
	}
	legacyNoPass, err := pkcs12.Legacy.Encode(app.Key, app.Cert, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		api    string            // [API_SETTINGS] lines replacing privateKeyFile and thumbprint
		files  map[string]string // written next to the config
		env    []string
		code   int
		stdout string // in check's output
		stderr string
	}{
		{name: "PFX, password from env", api: "pfxFile = app.pfx\npfxPasswordEnv = PFX_PW", files: map[string]string{"app.pfx": string(modern)},
			env: []string{"PFX_PW=pfx-pass"}, stdout: "SHA-1 thumbprint   " + app.Thumbprint},
		{name: "PFX, password from file", api: "pfxFile = app.pfx\npfxPasswordFile = pfx.pw", files: map[string]string{"app.pfx": string(modern), "pfx.pw": "pfx-pass\n"},
			stdout: "pfxPassword = ******** from file"},
		{name: "PFX, legacy encryption, no password", api: "pfxFile = app.pfx", files: map[string]string{"app.pfx": string(legacyNoPass)},
			stdout: "certificate from"},
		{name: "PFX, wrong password", api: "pfxFile = app.pfx\npfxPasswordEnv = PFX_PW", files: map[string]string{"app.pfx": string(modern)},
			env: []string{"PFX_PW=nope"}, code: 2, stdout: "✘ credential:", stderr: "credential"},
		{name: "secret from a named env var", api: "clientSecretEnv = APP_SECRET", env: []string{"APP_SECRET=" + secret},
			stdout: "client secret from environment variable APP_SECRET (not shown)"},
		{name: "secret from O365_CLIENT_SECRET", env: []string{"O365_CLIENT_SECRET=" + secret}, stdout: "clientSecret = ******** from environment variable O365_CLIENT_SECRET"},
		{name: "secret from a file", api: "clientSecretFile = secret.txt", files: map[string]string{"secret.txt": secret + "\n"}, stdout: "✔ token:"},
		{name: "wrong secret", api: "clientSecretEnv = APP_SECRET", env: []string{"APP_SECRET=wrong-" + secret}, code: 3,
			stdout: "AADSTS7000215", stderr: "check: "},
		{name: "two credentials", api: "pfxFile = app.pfx\nclientSecretEnv = APP_SECRET", env: []string{"APP_SECRET=" + secret}, code: 2,
			stdout: "configure exactly one credential"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{emu: emulator.Config{ClientSecret: secret}, types: []string{"Audit.Exchange"}})
			h.editConfig(func(s string) string {
				s = dropLine(dropLine(s, "privateKeyFile"), "thumbprint")
				return strings.Replace(s, "[ContentTypes]", tt.api+"\n[ContentTypes]", 1)
			})
			for name, content := range tt.files {
				writeFile(t, filepath.Join(h.dir, name), content)
			}
			env := append([]string{"O365_LOG_LEVEL=DEBUG"}, tt.env...)
			code, stdout, stderr := h.runApp(env, "check")
			if code != tt.code {
				t.Errorf("check: exit %d, want %d", code, tt.code)
			}
			if !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("check output lacks %q / %q", tt.stdout, tt.stderr)
			}
			if tt.code == 0 {
				out, errOut := "", ""
				if code, out, errOut = h.runApp(env, "subscriptions", "list"); code != 0 {
					t.Errorf("subscriptions list: exit %d\n%s%s", code, out, errOut)
				}
				stdout, stderr = stdout+out, stderr+errOut
				// A whole fetch at debug level: the secret must not reach debug.log either.
				if code, out, errOut = h.runApp(env); code != 0 {
					t.Errorf("fetch: exit %d\n%s%s", code, out, errOut)
				}
				stdout, stderr = stdout+out, stderr+errOut
				debugLog, err := os.ReadFile(filepath.Join(h.debug, "debug.log"))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(debugLog), "level=DEBUG") {
					t.Errorf("debug.log holds no debug line: the search proves nothing")
				}
				stderr += string(debugLog)
			}
			for _, s := range []string{secret, "pfx-pass"} {
				if strings.Contains(stdout+stderr, s) {
					t.Errorf("a secret shows in the output")
				}
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
		})
	}
}
