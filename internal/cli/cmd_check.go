package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/activity"
	"github.com/o365logfetch/o365logfetch/internal/auth"
	"github.com/o365logfetch/o365logfetch/internal/config"
	"github.com/o365logfetch/o365logfetch/internal/layout"
	"github.com/o365logfetch/o365logfetch/internal/localfs"
	"github.com/o365logfetch/o365logfetch/internal/state"
)

// Thresholds of check.
const (
	certWarn  = 30 * 24 * time.Hour // a certificate expiring sooner is worth a ticket now
	skewLimit = 5 * time.Minute     // Azure AD allows this much on assertions; windows near the 7-day edge need less
	lagWarn   = 24 * time.Hour      // more than a day behind: cron is probably not running
	retention = 7 * 24 * time.Hour  // Microsoft keeps content this long after it became available
)

// checkReport prints one ✔/⚠/✘ line per step and remembers the first failure.
type checkReport struct {
	w      io.Writer
	failed []string
	cause  error // of the first ✘: decides the exit code through exitCode
}

func (r *checkReport) ok(step, detail string, more ...string) {
	fmt.Fprintf(r.w, "✔ %s: %s\n", step, detail)
	for _, m := range more {
		fmt.Fprintf(r.w, "    %s\n", m)
	}
}

func (r *checkReport) warn(step, detail, fix string) {
	fmt.Fprintf(r.w, "⚠ %s: %s\n", step, detail)
	if fix != "" {
		fmt.Fprintf(r.w, "    fix: %s\n", fix)
	}
}

// fail records a ✘; cause carries the exit code (config 2, auth/permission 3, else 1).
func (r *checkReport) fail(step string, cause error, detail, fix string) {
	fmt.Fprintf(r.w, "✘ %s: %s\n", step, detail)
	if fix != "" {
		fmt.Fprintf(r.w, "    fix: %s\n", fix)
	}
	r.failed = append(r.failed, step)
	if r.cause == nil {
		r.cause = cause
	}
}

func (r *checkReport) skip(step, why string) {
	fmt.Fprintf(r.w, "- %s: skipped (%s)\n", step, why)
}

// checkError ends a check with a ✘: its exit code is that of the first failure.
type checkError struct {
	failed []string
	cause  error
}

func (e *checkError) Error() string {
	return fmt.Sprintf("check: %d failed (%s); see the fixes above", len(e.failed), strings.Join(e.failed, ", "))
}

func (e *checkError) Unwrap() error { return e.cause }

// check walks the setup a run depends on, in the order a run meets it, and says how to fix each
// problem. It writes nothing but a probe file it removes at once, and takes no lock: it may run
// next to a cron run.
func (a App) check(ctx context.Context, path string, getenv func(string) string) error {
	r := &checkReport{w: a.Stdout}
	done := func() error {
		if r.cause == nil {
			fmt.Fprintln(a.Stdout, "All checks passed.")
			return nil
		}
		return &checkError{failed: r.failed, cause: r.cause}
	}

	cfg, err := config.Load(path, getenv)
	if err != nil {
		r.fail("config", err, "cannot use "+path, "")
		for _, e := range flattenErrors(err) {
			fmt.Fprintf(a.Stdout, "    %v\n", e)
		}
		fmt.Fprintln(a.Stdout, "    fix: correct the keys named above; README.md, section Configuration, lists them all")
		return done()
	}
	r.ok("config", cfg.File+" parsed; effective values (secrets masked):", strings.Split(strings.TrimRight(cfg.Redacted(), "\n"), "\n")...)

	// check keeps its own output; what the token source and the client would log goes nowhere.
	log := slog.New(slog.DiscardHandler)
	hc, err := a.httpClient(cfg)
	if err != nil {
		r.fail("network", err, err.Error(), "fix the proxy key in [API_SETTINGS]")
		return done()
	}
	tokens, err := auth.New(authSettings(cfg, log), hc, a.Now)
	if err != nil {
		r.fail("credential", err, err.Error(), credentialFix(cfg))
	} else {
		a.checkCredential(r, cfg, tokens.Credential())
	}

	for _, d := range []struct{ key, dir string }{
		{"baseLogLocation", cfg.BaseLogDir},
		{"debugLogLocation", cfg.DebugLogDir},
		{"timeKeeperLocation", cfg.StateDir},
	} {
		created, err := probeDir(d.dir)
		switch {
		case err != nil:
			r.fail(d.key, &setupError{fmt.Errorf("[LOGGING] %s: %w", d.key, err)}, err.Error(),
				fmt.Sprintf("point %s in [LOGGING] at a directory the account running o365logfetch can write", d.key))
		case created:
			r.ok(d.key, d.dir+" does not exist yet; the first run creates it")
		default:
			free, ferr := localfs.Free(d.dir)
			switch {
			case ferr != nil:
				r.ok(d.key, d.dir+" is writable (free space unknown: "+ferr.Error()+")")
			case d.key != "debugLogLocation" && cfg.MinFreeSpaceMB > 0 && free < int64(cfg.MinFreeSpaceMB)<<20:
				r.warn(d.key, fmt.Sprintf("%s is writable, %s free: less than minFreeSpaceMB (%d MiB)", d.dir, localfs.FormatBytes(free), cfg.MinFreeSpaceMB),
					"make room there, or point "+d.key+" at a larger filesystem: a full disk stops the run")
			default:
				r.ok(d.key, fmt.Sprintf("%s is writable, %s free", d.dir, localfs.FormatBytes(free)))
			}
		}
	}

	if tokens == nil {
		for _, step := range []string{"token", "permission", "tenant", "subscriptions", "clock"} {
			r.skip(step, "no credential")
		}
	} else {
		a.checkRemote(ctx, r, cfg, hc, tokens, log)
	}
	a.checkProgress(r, cfg)
	return done()
}

func credentialFix(cfg *config.Config) string {
	switch cfg.Credential {
	case config.CredentialPFX:
		return "check pfxFile and its password (pfxPasswordEnv / pfxPasswordFile)"
	case config.CredentialSecret:
		return "check the client secret (" + cfg.SecretSource + ")"
	}
	return "check privateKeyFile, certificateFile and thumbprint in [API_SETTINGS] against Certificates & secrets of the app registration"
}

func (a App) checkCredential(r *checkReport, cfg *config.Config, c auth.Credential) {
	switch c.Kind {
	case auth.KindSecret:
		r.ok("credential", "client secret from "+cfg.SecretSource+" (not shown)",
			"Azure AD does not tell a secret's expiry: note it from Certificates & secrets of the app registration")
		return
	case auth.KindKeyThumbprint:
		r.ok("credential", "private key "+cfg.PrivateKeyFile+" with thumbprint "+c.Thumbprint+" (RS256 with x5t, as the previous tool sent)",
			"expiry unknown without the certificate: add it (certificateFile, or append it to the key file) to check it and to use the newer PS256 form")
		return
	}
	left := c.NotAfter.Sub(a.Now())
	lines := []string{
		"subject            " + c.Subject,
		"SHA-1 thumbprint   " + c.Thumbprint + "   (as the Azure portal shows it)",
		"SHA-256            " + c.SHA256,
		fmt.Sprintf("expires            %s (in %d days)", c.NotAfter.UTC().Format("2006-01-02 15:04:05 MST"), int(left.Hours()/24)),
	}
	r.ok("credential", "certificate from "+c.File, lines...)
	if left < certWarn {
		r.warn("credential", fmt.Sprintf("the certificate expires in %d days", int(left.Hours()/24)),
			"run `o365logfetch init --renew-cert --config "+shellQuote(cfg.File)+"`: it writes a new certificate beside the current one and says how to upload it and switch to it")
	}
}

// checkRemote gets a token, reads what it grants, and lists the subscriptions.
func (a App) checkRemote(ctx context.Context, r *checkReport, cfg *config.Config, hc *http.Client, tokens *auth.Source, log *slog.Logger) {
	tok, err := tokens.Token(ctx)
	if err != nil {
		r.fail("token", err, err.Error(), "see the hint above; README.md, section Troubleshooting, lists the AADSTS codes")
		for _, step := range []string{"permission", "tenant", "subscriptions", "clock"} {
			r.skip(step, "no token")
		}
		return
	}
	r.ok("token", "acquired from "+cfg.AuthorityHost+"/"+cfg.Tenant+" for "+cfg.Resource)

	claims, err := auth.DecodeClaims(tok)
	if err != nil {
		r.warn("permission", "cannot read the token: "+err.Error(), "")
	} else {
		const role = "ActivityFeed.Read"
		roles := strings.Join(claims.Roles, ", ")
		if roles == "" {
			roles = "none"
		}
		if claims.HasRole(role) {
			r.ok("permission", "the token grants "+role+" (roles: "+roles+")")
		} else {
			r.fail("permission", &auth.Error{Description: "the access token lacks the " + role + " role"},
				"the token lacks "+role+" (roles: "+roles+")",
				"API permissions of the app registration → Add a permission → Office 365 Management APIs → Application permissions → "+role+", then Grant admin consent")
		}
		if claims.TenantID == "" {
			r.warn("tenant", "the token names no tenant (tid)", "")
		} else if strings.EqualFold(claims.TenantID, cfg.TenantID) {
			r.ok("tenant", "the token's tenant "+claims.TenantID+" is tenantId")
		} else {
			r.fail("tenant", &auth.Error{Description: "the token's tenant " + claims.TenantID + " is not tenantId " + cfg.TenantID},
				"the token's tenant is "+claims.TenantID+", tenantId is "+cfg.TenantID,
				"set tenantId to the Directory (tenant) ID of the tenant named by tenant ("+cfg.Tenant+")")
		}
	}

	api, err := activity.New(activity.Options{
		Root: cfg.APIRoot, PublisherID: cfg.PublisherID, HTTP: hc, Tokens: tokens,
		RequestsPerMinute: cfg.RequestsPerMinute, Retry: a.Retry, Now: a.Now, Log: log,
	})
	if err != nil {
		r.fail("subscriptions", &setupError{err}, err.Error(), "check activityApiRoot")
		return
	}
	subs, err := api.Subscriptions(ctx)
	if err != nil {
		r.fail("subscriptions", err, err.Error(), "see the hint above; README.md, section Troubleshooting, lists the AF codes")
		r.skip("clock", "no answer from the API")
		return
	}
	status := map[string]string{}
	for _, s := range subs {
		status[s.ContentType] = s.Status
	}
	for _, ct := range cfg.ContentTypes {
		st := status[ct]
		switch {
		case st == "enabled":
			r.ok("subscription "+ct, "enabled")
		default:
			if st == "" {
				st = "none"
			}
			fix := "o365logfetch subscriptions start " + ct + " (content then takes up to 12 hours to appear; one start per 15 minutes)"
			if cfg.AutoStart {
				fix += "; autoStartSubscriptions = True also starts it on the next run"
			}
			r.fail("subscription "+ct, fmt.Errorf("subscription %s is %s", ct, st), st, fix)
		}
	}

	skew := api.Skew()
	if skew > skewLimit || skew < -skewLimit {
		r.fail("clock", fmt.Errorf("clock skew %s", skew), fmt.Sprintf("the API's clock minus this machine's is %s (limit ±%s)", skew, skewLimit),
			"synchronise the clock (NTP): Azure AD refuses assertions and the API refuses windows judged by a wrong clock")
	} else {
		r.ok("clock", fmt.Sprintf("the API's clock minus this machine's is %s (limit ±%s)", skew, skewLimit))
	}
}

// checkProgress reads the saved progress without locking or creating anything.
func (a App) checkProgress(r *checkReport, cfg *config.Config) {
	if _, err := os.Stat(filepath.Join(cfg.StateDir, layout.StateFile)); err != nil {
		if _, lerr := os.Stat(filepath.Join(cfg.StateDir, layout.LegacyStateFile)); lerr != nil {
			r.ok("progress", fmt.Sprintf("nothing saved yet; the first run starts %s back (initialLookback)", cfg.InitialLookback))
			return
		}
	}
	st, err := state.Open(cfg.StateDir)
	if err != nil {
		r.fail("progress", err, err.Error(), "see the message; the state file is "+filepath.Join(cfg.StateDir, layout.StateFile))
		return
	}
	now := a.Now().UTC()
	for _, ct := range cfg.ContentTypes {
		t := st.Type(ct)
		step := "progress " + ct
		if t.End.IsZero() {
			r.ok(step, fmt.Sprintf("not fetched yet; the first run starts %s back (initialLookback)", cfg.InitialLookback))
			continue
		}
		behind := now.Sub(t.End).Truncate(time.Minute)
		detail := fmt.Sprintf("fetched up to %s, %s behind", t.End.UTC().Format(time.RFC3339), behind)
		if n := len(t.Pending); n > 0 {
			detail += fmt.Sprintf("; %d blob(s) failed and are retried by the next run", n)
		}
		switch {
		case behind > retention:
			r.fail(step, fmt.Errorf("%s is %s behind", ct, behind), detail,
				"content older than 7 days is gone for good: run o365logfetch now, and from cron at least every hour")
		case behind > lagWarn:
			r.warn(step, detail, "more than a day behind: is the cron job or timer running? Microsoft keeps content 7 days")
		default:
			r.ok(step, detail)
		}
	}
}

func flattenErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
