package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/config"
	"github.com/o365logfetch/o365logfetch/internal/setup"
)

const initUsage = `Usage:
  o365logfetch init [flags]               make a key, a certificate, o365_logs.cfg and .env in --dir
  o365logfetch init --renew-cert [flags]  make a new certificate beside the configured one

init writes, in --dir: app.pem (private key and certificate, readable by its owner only; the
config's privateKeyFile), app.cer (the certificate alone, to upload to the app registration),
o365_logs.cfg and .env; then prints the steps left in the Azure portal. It never replaces a key
or certificate. On a terminal it asks for what the flags leave out; otherwise (or with --yes) it
fails naming what is missing.

Flags:
  --dir DIR            where to write (default: the current directory); the config puts the
                       output, debug.log and progress in DIR/logs, DIR/debug and DIR/state
  --tenant-id GUID     Directory (tenant) ID of the app registration
  --client-id GUID     Application (client) ID of the app registration
  --tenant T           tenant domain (contoso.onmicrosoft.com) for the login URL (default: the
                       tenant ID)
  --cloud C            Enterprise (default), GCC, GCCHigh or DoD
  --authority-host URL login host instead of the cloud's (https://host[:port]; a private
                       endpoint or a test service)
  --resource URL       API resource instead of the cloud's
  --key-bits N         RSA key size: 2048, 3072 (default) or 4096
  --valid-days N       certificate validity in days (default 730, at most 1825)
  --yes                never ask; fail when a value is missing
  --force              replace an existing o365_logs.cfg and .env (never the key)

  --renew-cert         write a new key and certificate beside the configured privateKeyFile
                       (app-YYYYMMDD.pem and .cer); the current ones keep working until the
                       config is switched to the new files
  --keep-key           with --renew-cert: a new certificate for the current key
  --config FILE        with --renew-cert: the config (default: $O365_MANAGEMENT_API_CONFIG,
                       else ./o365_logs.cfg)
  --env-file FILE      with --renew-cert: .env file to read (default: ./.env when present)
  -h, --help           show this help
`

// initOptions are init's command line.
type initOptions struct {
	dir                     string
	tenant                  string
	tenantID                string
	clientID                string
	cloud                   string
	authorityHost, resource string
	keyBits                 int
	validDays               int
	yes, force              bool

	renew      bool
	keepKey    bool
	configPath string
	envFile    string
}

// parseInit reads init's flags and checks every value given; it touches nothing.
func parseInit(args []string, helpOut io.Writer) (initOptions, error) {
	o := initOptions{keyBits: setup.DefaultKeyBits, validDays: int(setup.DefaultValidity.Hours() / 24)}
	fs := flag.NewFlagSet("o365logfetch init", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.dir, "dir", ".", "")
	fs.StringVar(&o.tenant, "tenant", "", "")
	fs.StringVar(&o.tenantID, "tenant-id", "", "")
	fs.StringVar(&o.clientID, "client-id", "", "")
	fs.StringVar(&o.cloud, "cloud", "", "")
	fs.StringVar(&o.authorityHost, "authority-host", "", "")
	fs.StringVar(&o.resource, "resource", "", "")
	fs.IntVar(&o.keyBits, "key-bits", o.keyBits, "")
	fs.IntVar(&o.validDays, "valid-days", o.validDays, "")
	fs.BoolVar(&o.yes, "yes", false, "")
	fs.BoolVar(&o.force, "force", false, "")
	fs.BoolVar(&o.renew, "renew-cert", false, "")
	fs.BoolVar(&o.keepKey, "keep-key", false, "")
	fs.StringVar(&o.configPath, "config", "", "")
	fs.StringVar(&o.envFile, "env-file", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(helpOut, initUsage)
			return o, err
		}
		return o, &usageError{"init: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return o, &usageError{fmt.Sprintf("init takes no arguments, got %q", strings.Join(fs.Args(), " "))}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, n := range []string{"keep-key", "config", "env-file"} {
		if set[n] && !o.renew {
			return o, &usageError{"--" + n + " applies to init --renew-cert only"}
		}
	}
	for _, n := range []string{"dir", "tenant", "tenant-id", "client-id", "cloud", "authority-host", "resource", "force"} {
		if set[n] && o.renew {
			return o, &usageError{"--" + n + " does not apply to init --renew-cert: it renews the credential the config names"}
		}
	}
	if o.keepKey && set["key-bits"] {
		return o, &usageError{"--key-bits makes a new key; --keep-key keeps the current one"}
	}
	if err := o.validate(); err != nil {
		return o, err
	}
	return o, nil
}

// validate checks the values given; those left empty are asked for or reported later.
func (o *initOptions) validate() error {
	checks := []struct {
		flag, value string
		check       func(string) error
	}{
		{"tenant-id", o.tenantID, checkGUID},
		{"client-id", o.clientID, checkGUID},
		{"tenant", o.tenant, checkTenant},
		{"cloud", o.cloud, checkCloud},
		{"authority-host", o.authorityHost, func(v string) error { return checkHTTPS(v, false) }},
		{"resource", o.resource, func(v string) error { return checkHTTPS(v, true) }},
	}
	for _, c := range checks {
		if c.value == "" {
			continue
		}
		if err := c.check(c.value); err != nil {
			return &usageError{"--" + c.flag + ": " + err.Error()}
		}
	}
	if !slices.Contains(setup.KeyBits, o.keyBits) {
		return &usageError{fmt.Sprintf("--key-bits %d: want 2048, 3072 or 4096", o.keyBits)}
	}
	if maxDays := int(setup.MaxValidity.Hours() / 24); o.validDays < 1 || o.validDays > maxDays {
		return &usageError{fmt.Sprintf("--valid-days %d: want 1 to %d", o.validDays, maxDays)}
	}
	return nil
}

func checkGUID(v string) error {
	if !config.IsGUID(v) {
		return fmt.Errorf("%q is not a GUID like 41463f53-8812-40f4-890f-865bf6e35190", v)
	}
	return nil
}

func checkTenant(v string) error {
	if !config.IsTenant(v) {
		return fmt.Errorf("%q is neither a tenant GUID nor a domain such as contoso.onmicrosoft.com", v)
	}
	return nil
}

func checkCloud(v string) error {
	if _, ok := config.CloudNamed(v); !ok {
		return fmt.Errorf("%q is not a cloud: want Enterprise, GCC, GCCHigh or DoD", v)
	}
	return nil
}

// checkHTTPS accepts what the config's authorityHostUrl (no path) and resource keys accept.
func checkHTTPS(v string, allowPath bool) error {
	u, err := url.Parse(v)
	switch {
	case err != nil || u.Scheme != "https" || u.Host == "":
		return fmt.Errorf("%q is not an https:// URL", v)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(v, "?#"):
		return fmt.Errorf("%q must not carry credentials, a query or a fragment", v)
	case !allowPath && strings.Trim(u.Path, "/") != "":
		return fmt.Errorf("%q must be just https://host[:port]", v)
	}
	return nil
}

// initCmd runs o365logfetch init.
func (a App) initCmd(ctx context.Context, args []string) error {
	o, err := parseInit(args, a.Stdout)
	if err != nil {
		return err
	}
	if o.renew {
		return a.renewCert(o)
	}
	layout, err := setup.NewLayout(o.dir)
	if err != nil {
		return &setupError{fmt.Errorf("--dir %s: %w", o.dir, err)}
	}
	// Before any question: answers to an init that cannot write would be wasted.
	if _, err := layout.Free(o.force); err != nil {
		return &setupError{fmt.Errorf("init: %w", err)}
	}
	if o.tenantID == "" && config.IsGUID(o.tenant) {
		o.tenantID = o.tenant
	}
	if !o.yes && a.stdinIsTerminal() {
		p := &prompter{in: bufio.NewReader(a.Stdin), out: a.Stderr}
		if err := p.askMissing(ctx, &o); err != nil {
			return err
		}
	}
	if err := o.requireIDs(); err != nil {
		return err
	}
	cloud, authority, resource := o.endpoints()
	res, err := setup.Create(setup.Params{
		Layout: layout, Tenant: o.tenant, TenantID: o.tenantID, ClientID: o.clientID,
		AuthorityHost: authority, Resource: resource,
		KeyBits: o.keyBits, Validity: time.Duration(o.validDays) * 24 * time.Hour,
		Force: o.force, Now: a.Now(),
	})
	if err != nil {
		return &setupError{fmt.Errorf("init: %w", err)}
	}
	a.printCreated(o, layout, res, cloud)
	return nil
}

// requireIDs fails naming the IDs neither the flags nor the answers gave.
func (o *initOptions) requireIDs() error {
	var missing []string
	for _, m := range []struct{ flag, value string }{{"--tenant-id", o.tenantID}, {"--client-id", o.clientID}} {
		if m.value == "" {
			missing = append(missing, m.flag)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	why := "stdin is not a terminal"
	if o.yes {
		why = "--yes was given"
	}
	return &usageError{fmt.Sprintf("init: missing %s (not asked: %s); find both on the Overview page of the app registration",
		strings.Join(missing, " and "), why)}
}

// endpoints are the login host and API resource: the cloud's, unless the flags replace them.
// cloud is "" when they do.
func (o *initOptions) endpoints() (cloud, authority, resource string) {
	c, ok := config.CloudNamed(o.cloud)
	if !ok {
		c = config.Clouds[0] // validated: no --cloud at all
	}
	cloud, authority, resource = c.Name, c.AuthorityHost, c.Resource
	if o.authorityHost != "" {
		cloud, authority = "", strings.TrimRight(o.authorityHost, "/")
	}
	if o.resource != "" {
		cloud, resource = "", strings.TrimRight(o.resource, "/")
	}
	return cloud, authority, resource
}

func (a App) printCreated(o initOptions, layout setup.Layout, res setup.Result, cloud string) {
	w := a.Stdout
	fmt.Fprintf(w, "Wrote in %s:\n", layout.Dir)
	for _, f := range []struct{ path, what string }{
		{layout.Key, "private key and certificate, readable by its owner only (privateKeyFile); keep it secret"},
		{layout.Cert, "the certificate alone, to upload to the app registration"},
		{layout.Config, "the configuration"},
		{layout.Env, "names the configuration for runs started in " + layout.Dir},
	} {
		fmt.Fprintf(w, "  %-15s %s\n", filepath.Base(f.path), f.what)
	}
	for _, r := range res.Replaced {
		fmt.Fprintf(w, "  (replaced the existing %s)\n", filepath.Base(r))
	}
	fmt.Fprintf(w, "Certificate: RSA %d bits, valid until %s, thumbprint %s\n\n", o.keyBits, res.NotAfter.Format(time.DateOnly), res.Thumbprint)
	steps := nextSteps{cloud: cloud, clientID: o.clientID, cert: res.Cert, thumbprint: res.Thumbprint, config: layout.Config, first: true}
	steps.print(w)
}

// renewCert makes a new certificate beside the configured credential.
func (a App) renewCert(o initOptions) error {
	cfg, err := a.loadConfig(o.configPath, o.envFile)
	if err != nil {
		return err
	}
	keyFile := ""
	if cfg.Credential == config.CredentialPEM {
		keyFile = cfg.PrivateKeyFile
	}
	res, err := setup.Renew(setup.RenewParams{
		KeyFile: keyFile, Dir: filepath.Dir(cfg.File), KeepKey: o.keepKey,
		KeyBits: o.keyBits, Validity: time.Duration(o.validDays) * 24 * time.Hour, Now: a.Now(),
	})
	if err != nil {
		return &setupError{fmt.Errorf("init --renew-cert: %w", err)}
	}
	w := a.Stdout
	what := "a new key and certificate"
	if o.keepKey {
		what = "the current key with a new certificate"
	}
	fmt.Fprintf(w, "Wrote %s:\n  %s\n  %s (to upload)\n", what, res.Key, res.Cert)
	fmt.Fprintf(w, "Certificate: valid until %s, thumbprint %s\n", res.NotAfter.Format(time.DateOnly), res.Thumbprint)
	fmt.Fprintf(w, "%s is unchanged: runs keep using the current certificate until you switch.\n\n", cfg.File)
	cloud := cfg.Cloud
	if cloud == "" {
		for _, c := range config.Clouds {
			if c.AuthorityHost == cfg.AuthorityHost && c.Resource == cfg.Resource {
				cloud = c.Name
			}
		}
	}
	steps := nextSteps{cloud: cloud, clientID: cfg.ClientID, cert: res.Cert, thumbprint: res.Thumbprint, config: cfg.File, newKey: res.Key}
	switch {
	case cfg.CertificateFile != "":
		steps.remove = "the certificateFile line: the new file holds the certificate"
	case cfg.Credential == config.CredentialPFX:
		steps.remove = "pfxFile and its password keys: a config has one credential"
	case cfg.Credential == config.CredentialSecret:
		steps.remove = "the client secret (" + cfg.SecretSource + "): a config has one credential"
	}
	steps.print(w)
	return nil
}

// configFile is the config path: the flag, else O365_MANAGEMENT_API_CONFIG, else ./o365_logs.cfg.
func configFile(flagValue string, getenv func(string) string) string {
	if flagValue != "" {
		return flagValue
	}
	if p := getenv("O365_MANAGEMENT_API_CONFIG"); p != "" {
		return p
	}
	return "o365_logs.cfg"
}

// nextSteps are what is left to do in the Azure portal and on this machine.
type nextSteps struct {
	cloud      string // config.Clouds name; "" when the endpoints are custom
	clientID   string
	cert       string // file to upload
	thumbprint string
	config     string
	first      bool   // a new installation: the permission is still to be granted
	newKey     string // renewal: the file to switch privateKeyFile to
	remove     string // renewal: what the switch makes unneeded, or ""
}

// portal is where the app registrations of a cloud are managed.
func portal(cloud string) string {
	switch cloud {
	case "Enterprise", "GCC":
		return "https://portal.azure.com"
	case "GCCHigh", "DoD":
		return "https://portal.azure.us"
	}
	return "the Azure portal of your cloud"
}

func (s nextSteps) print(w io.Writer) {
	cloud := s.cloud
	if cloud == "" {
		cloud = "custom endpoints"
	}
	check := "o365logfetch --config " + shellQuote(s.config) + " check"
	fmt.Fprintf(w, "Next steps (cloud: %s):\n", cloud)
	n := 0
	step := func(format string, args ...any) {
		n++
		fmt.Fprintf(w, "%2d. "+format+"\n", append([]any{n}, args...)...)
	}
	step("Upload the certificate: in %s open Microsoft Entra ID → App registrations →\n"+
		"    the app with Application (client) ID %s →\n"+
		"    Certificates & secrets → Certificates → Upload certificate, and choose\n      %s\n"+
		"    The portal then lists it with this thumbprint; compare:\n      %s",
		portal(s.cloud), s.clientID, s.cert, s.thumbprint)
	if s.first {
		step("Add the permission: API permissions → Add a permission → APIs my organization uses →\n" +
			"    Office 365 Management APIs → Application permissions → ActivityFeed.Read (and\n" +
			"    ActivityFeed.ReadDlp for the sensitive data of DLP.All) → Add permissions; then\n" +
			"    Grant admin consent (a Global or Privileged Role Administrator must do it).")
		step("Check the setup (a new certificate may take a few minutes to be accepted):\n      %s", check)
		step("Run the same command without check from cron or Task Scheduler (README: Running it\n" +
			"    unattended); the first run starts the subscriptions (autoStartSubscriptions = True).")
		return
	}
	edit := fmt.Sprintf("privateKeyFile = %s\n      thumbprint = %s", s.newKey, s.thumbprint)
	if s.remove != "" {
		edit += "\n    and remove " + s.remove
	}
	step("When the portal lists it, switch %s to the new files:\n      %s", s.config, edit)
	step("Check the setup with the new certificate:\n      %s", check)
	step("Then delete the old certificate from Certificates & secrets, and its files from this machine.")
}

// shellQuote quotes a path for the shell the user types the command into, when it needs it.
func shellQuote(s string) string { return quoteFor(runtime.GOOS, s) }

// quoteFor quotes s for the shell of goos: cmd.exe and PowerShell take double quotes (a Windows
// path holds no '"'); POSIX shells single quotes, which keep '$' and '\' as they are.
func quoteFor(goos, s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(`/\:._-+,@`, r)) {
			safe = false
			break
		}
	}
	switch {
	case safe:
		return s
	case goos == "windows":
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
