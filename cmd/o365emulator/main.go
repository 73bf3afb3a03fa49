// Command o365emulator serves an emulated Azure AD tenant and Office 365
// Management Activity API over TLS on loopback, with generated audit
// content, and writes a ready-to-use o365logfetch configuration for it.
//
//	o365emulator -dir demo [-live-quirks]
//	export SSL_CERT_FILE=demo/ca.pem
//	O365_MANAGEMENT_API_CONFIG=demo/o365_logs.cfg o365logfetch
//
// Other clients get tokens from the same URL: v2 at /{tenant}/oauth2/v2.0/token (scope
// <URL>/.default) or v1 at /{tenant}/oauth2/token (resource <URL>), with the certificate
// in app.pem or a client assertion signed with its key.
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type options struct {
	addr, dir           string
	seed                int64
	hours, blobsPerHour int
	records, pageSize   int
	latency             time.Duration
	faults              emulator.Faults
	liveQuirks          bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("o365emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "listen address (TLS)")
	fs.StringVar(&o.dir, "dir", "", "directory for ca.pem, app.pem, o365_logs.cfg, .env and ready (required)")
	fs.Int64Var(&o.seed, "seed", 1, "seed for generated records and faults")
	fs.IntVar(&o.hours, "hours", 6, "hours of content to generate, ending now, for every content type")
	fs.IntVar(&o.blobsPerHour, "blobs-per-hour", 4, "blobs per hour and content type")
	fs.IntVar(&o.records, "records", 20, "records per blob")
	fs.IntVar(&o.pageSize, "page-size", 3, "content listing entries per page")
	fs.DurationVar(&o.latency, "latency", 0, "delay added before every answer")
	fs.Float64Var(&o.faults.ServerError, "server-error", 0, "fraction of API requests answered 503 AF50000")
	fs.Float64Var(&o.faults.HTMLError, "html-error", 0, "fraction of API requests answered 502 with an HTML page")
	fs.Float64Var(&o.faults.Throttle429, "throttle-429", 0, "fraction of API requests answered 429")
	fs.Float64Var(&o.faults.Throttle403, "throttle-403", 0, "fraction of API requests answered 403 AF429")
	fs.Float64Var(&o.faults.Drop, "drop", 0, "fraction of API requests whose connection is dropped")
	fs.Float64Var(&o.faults.TokenError, "token-error", 0, "fraction of token requests answered 503")
	fs.IntVar(&o.faults.QuotaPerMinute, "quota", 0, "API requests allowed per rolling minute (0 = unlimited)")
	fs.BoolVar(&o.liveQuirks, "live-quirks", false, "answer as the live service was observed to, where it differs from the documentation:\n"+
		"exactly-24h windows refused (AF20055), lower-case next-page links without PublisherIdentifier under /api/v1/,\n"+
		"no Retry-After on throttling, listing contentType in another casing, contentExpiration 14 days out")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.dir == "" {
		return o, errors.New("-dir is required")
	}
	if o.hours < 0 || o.blobsPerHour <= 0 || o.records < 0 {
		return o, errors.New("-hours and -records must be >= 0, -blobs-per-hour > 0")
	}
	o.faults.Latency = o.latency
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "o365emulator:", err)
		return 2
	}
	if err := serve(ctx, o, stdout); err != nil {
		fmt.Fprintln(stderr, "o365emulator:", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, o options, stdout io.Writer) error {
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	// A stale ready file would tell a waiting script to go too early.
	_ = os.Remove(filepath.Join(dir, "ready"))

	now := time.Now()
	cred, err := emulator.NewAppCredential(now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err != nil {
		return err
	}
	s, err := emulator.StartTLS(emulator.Config{
		Certs:      []*x509.Certificate{cred.Cert},
		PageSize:   o.pageSize,
		Seed:       o.seed,
		LiveQuirks: o.liveQuirks,
	}, o.addr)
	if err != nil {
		return err
	}
	defer s.Close()
	s.SetFaults(o.faults)

	every := time.Hour / time.Duration(o.blobsPerHour)
	blobs := 0
	for _, ct := range emulator.ContentTypes {
		blobs += len(s.Generate(ct, now.Add(-time.Duration(o.hours)*time.Hour), now, every, o.records))
	}

	cfg := s.ClientConfig(emulator.ClientConfig{Dir: dir, KeyFile: filepath.Join(dir, "app.pem"), Thumbprint: cred.Thumbprint, AutoStart: true})
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"ca.pem", s.CAPEM(), 0o644},
		{"app.pem", append(append([]byte{}, cred.CertPEM...), cred.KeyPEM...), 0o600},
		{"o365_logs.cfg", []byte(cfg), 0o644},
		{".env", []byte("O365_MANAGEMENT_API_CONFIG=" + filepath.Join(dir, "o365_logs.cfg") + "\n"), 0o644},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return fmt.Errorf("write %s: %w", f.name, err)
		}
	}

	fmt.Fprintf(stdout, "# o365emulator on %s: %d blobs of %d records over %d h for %d content types\n",
		s.URL, blobs, o.records, o.hours, len(emulator.ContentTypes))
	fmt.Fprintf(stdout, "# %s\n%s\n", filepath.Join(dir, "o365_logs.cfg"), cfg)
	fmt.Fprintf(stdout, "export SSL_CERT_FILE=%s\n", filepath.Join(dir, "ca.pem"))
	fmt.Fprintf(stdout, "export O365_MANAGEMENT_API_CONFIG=%s\n", filepath.Join(dir, "o365_logs.cfg"))
	if err := os.WriteFile(filepath.Join(dir, "ready"), []byte(s.URL+"\n"), 0o644); err != nil {
		return fmt.Errorf("write ready: %w", err)
	}

	<-ctx.Done()
	st := s.Stats()
	fmt.Fprintf(stdout, "# served: tokens=%d listings=%d pages=%d blobs=%d throttled=%d faults=%d\n",
		st.TokensIssued, st.Listings, st.Pages, st.BlobDownloads, st.Throttled, st.Faults)
	return nil
}
