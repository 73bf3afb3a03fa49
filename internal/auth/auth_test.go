package auth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
	"github.com/o365logfetch/o365logfetch/internal/retry"
	"github.com/o365logfetch/o365logfetch/internal/retry/retrytest"
)

const (
	tenantID = "41463f53-8812-40f4-890f-865bf6e35190"
	domain   = "contoso.onmicrosoft.com"
	clientID = "5a1e7b9c-3d2f-4a6b-8c0e-1f2a3b4c5d6e"
)

// Keys are made once per test binary: RSA key generation is slow.
var (
	good    *emulator.AppCredential // registered on the app
	other   *emulator.AppCredential // valid, never registered
	expired *emulator.AppCredential
	future  *emulator.AppCredential
)

func TestMain(m *testing.M) {
	now := time.Now()
	for _, c := range []struct {
		dst      **emulator.AppCredential
		from, to time.Time
	}{
		{&good, now.Add(-time.Hour), now.Add(365 * 24 * time.Hour)},
		{&other, now.Add(-time.Hour), now.Add(365 * 24 * time.Hour)},
		{&expired, now.Add(-48 * time.Hour), now.Add(-24 * time.Hour)},
		{&future, now.Add(24 * time.Hour), now.Add(48 * time.Hour)},
	} {
		cred, err := emulator.NewAppCredential(c.from, c.to)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		*c.dst = cred
	}
	os.Exit(m.Run())
}

func startEmulator(t *testing.T, cfg emulator.Config) *emulator.Server {
	t.Helper()
	if cfg.TenantID == "" {
		cfg.TenantID = tenantID
	}
	cfg.TenantDomain = domain
	cfg.ClientID = clientID
	if cfg.Certs == nil {
		cfg.Certs = []*x509.Certificate{good.Cert}
	}
	cfg.TokenLifetime = time.Hour
	srv, err := emulator.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func settings(srv *emulator.Server, keyFile string) Settings {
	return Settings{AuthorityHost: srv.URL, Tenant: tenantID, ClientID: clientID, Resource: srv.Resource(), PrivateKeyFile: keyFile}
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func pkcs1(c *emulator.AppCredential) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(c.Key)})
}

// recorder wraps the emulator's transport: it keeps the client assertions
// sent and can answer the first token requests itself with 503.
type recorder struct {
	base       http.RoundTripper
	mu         sync.Mutex
	assertions []string
	posts      int
	fail       int    // answer this many token POSTs with 503
	retryAfter string // Retry-After on those answers
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/token") {
		return r.base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body.Close()
	req.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	r.mu.Lock()
	r.posts++
	failing := r.posts <= r.fail
	if a := form.Get("client_assertion"); a != "" {
		r.assertions = append(r.assertions, a)
	}
	r.mu.Unlock()
	if failing {
		h := http.Header{"Content-Type": {"application/json"}}
		if r.retryAfter != "" {
			h.Set("Retry-After", r.retryAfter)
		}
		return &http.Response{
			StatusCode: http.StatusServiceUnavailable, Header: h, Request: req,
			Body: io.NopCloser(strings.NewReader(`{"error":"temporarily_unavailable","error_description":"AADSTS90033: A transient error has occurred.","error_codes":[90033]}`)),
		}, nil
	}
	return r.base.RoundTrip(req)
}

func recording(srv *emulator.Server) (*recorder, *http.Client) {
	rec := &recorder{base: srv.Client().Transport}
	return rec, &http.Client{Transport: rec}
}

func TestTokenWithCertificate(t *testing.T) {
	t.Parallel()
	chainCA := other.CertPEM // any further certificate stands in for a chain
	tests := []struct {
		name       string
		key, cert  []byte // cert nil: no certificateFile
		thumbprint string
	}{
		{name: "key then certificate", key: join(good.KeyPEM, good.CertPEM)},
		{name: "certificate then key", key: join(good.CertPEM, good.KeyPEM)},
		{name: "PKCS#1 key", key: join(pkcs1(good), good.CertPEM)},
		{name: "CRLF line ends", key: bytes.ReplaceAll(join(good.CertPEM, good.KeyPEM), []byte("\n"), []byte("\r\n"))},
		{name: "UTF-8 BOM", key: join([]byte("\ufeff"), good.KeyPEM, good.CertPEM)},
		{name: "with a chain", key: join(good.KeyPEM, chainCA, good.CertPEM)},
		{name: "separate certificate file", key: good.KeyPEM, cert: good.CertPEM},
		{name: "separate files, both with BOM", key: join([]byte("\ufeff"), good.KeyPEM), cert: join([]byte("\ufeff"), good.CertPEM)},
		{name: "matching thumbprint", key: join(good.KeyPEM, good.CertPEM), thumbprint: good.Thumbprint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startEmulator(t, emulator.Config{})
			s := settings(srv, writeFile(t, "key.pem", tt.key))
			s.Thumbprint = tt.thumbprint
			if tt.cert != nil {
				s.CertificateFile = writeFile(t, "cert.pem", tt.cert)
			}
			src, err := New(s, srv.Client(), nil)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := src.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tok == "" || srv.Stats().TokensIssued != 1 {
				t.Errorf("token %q, issued %d", tok, srv.Stats().TokensIssued)
			}
			sum := sha256.Sum256(good.Cert.Raw)
			want := Credential{
				Kind: KindCertificate, Thumbprint: good.Thumbprint, SHA256: strings.ToUpper(hex.EncodeToString(sum[:])),
				NotAfter: good.Cert.NotAfter, Subject: good.Cert.Subject.String(),
			}
			got := src.Credential()
			if got.File == "" {
				t.Errorf("credential names no file")
			}
			got.File = ""
			if got != want {
				t.Errorf("credential %+v, want %+v", got, want)
			}
		})
	}
}

func TestTokenWithKeyAndThumbprint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  []byte
	}{
		{"PKCS#8", good.KeyPEM},
		{"PKCS#1", pkcs1(good)},
		{"PKCS#1 with CRLF and BOM", join([]byte("\ufeff"), bytes.ReplaceAll(pkcs1(good), []byte("\n"), []byte("\r\n")))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startEmulator(t, emulator.Config{})
			rec, hc := recording(srv)
			s := settings(srv, writeFile(t, "key.pem", tt.key))
			s.Thumbprint = good.Thumbprint
			src, err := New(s, hc, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := src.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := src.Credential(); got != (Credential{Kind: KindKeyThumbprint, Thumbprint: good.Thumbprint}) {
				t.Errorf("credential %+v", got)
			}
			if len(rec.assertions) != 1 {
				t.Fatalf("%d assertions sent", len(rec.assertions))
			}
			checkAssertion(t, rec.assertions[0], srv.URL+"/"+tenantID+"/oauth2/v2.0/token")
		})
	}
}

// checkAssertion verifies the RS256/x5t form ADAL sent.
func checkAssertion(t *testing.T, jwt, tokenEndpoint string) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q is not a JWS", jwt)
	}
	var header map[string]string
	var claims map[string]any
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	sum1, _ := hex.DecodeString(good.Thumbprint)
	if header["alg"] != "RS256" || header["typ"] != "JWT" || header["x5t"] != base64.RawURLEncoding.EncodeToString(sum1) {
		t.Errorf("header %v", header)
	}
	if claims["aud"] != tokenEndpoint || claims["iss"] != clientID || claims["sub"] != clientID || claims["jti"] == "" {
		t.Errorf("claims %v", claims)
	}
	nbf, exp := claims["nbf"].(float64), claims["exp"].(float64)
	if exp-nbf != 600 || time.Since(time.Unix(int64(nbf), 0)).Abs() > time.Minute {
		t.Errorf("nbf %v exp %v", nbf, exp)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(good.Cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("signature: %v", err)
	}
	if sha1.Sum(good.Cert.Raw) != [20]byte(sum1) {
		t.Error("thumbprint is not the SHA-1 of the certificate")
	}
}

func TestTokenCacheAndRenew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		gap      time.Duration
		afterNew int // tokens issued after Token, Token, Renew, Token
	}{
		{"renew builds a new client", 0, 2},
		{"renew right after the last one is shared", renewGap, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startEmulator(t, emulator.Config{})
			src, err := New(settings(srv, writeFile(t, "key.pem", join(good.KeyPEM, good.CertPEM))), srv.Client(), nil)
			if err != nil {
				t.Fatal(err)
			}
			src.renewGap = tt.gap
			ctx := context.Background()
			first, err := src.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			second, err := src.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if first != second || srv.Stats().TokensIssued != 1 {
				t.Fatalf("second Token not from cache: issued %d", srv.Stats().TokensIssued)
			}
			if err := src.Renew(); err != nil {
				t.Fatal(err)
			}
			third, err := src.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := srv.Stats().TokensIssued; got != tt.afterNew {
				t.Errorf("issued %d, want %d", got, tt.afterNew)
			}
			if third == "" {
				t.Error("empty token")
			}
		})
	}
}

func TestConcurrentColdStartAsksOnce(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t, emulator.Config{})
	src, err := New(settings(srv, writeFile(t, "key.pem", join(good.KeyPEM, good.CertPEM))), srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := src.Token(context.Background())
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Stats().TokensIssued; got != 1 {
		t.Errorf("issued %d tokens, want 1", got)
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		key      []byte
		thumb    string
		tenant   string
		clientID string
		code     int
		hint     string
	}{
		{name: "unregistered certificate", key: join(other.KeyPEM, other.CertPEM), code: 700027, hint: "not registered"},
		{name: "unregistered key and thumbprint", key: other.KeyPEM, thumb: other.Thumbprint, code: 700027, hint: "not registered"},
		{name: "key of another certificate", key: other.KeyPEM, thumb: good.Thumbprint, code: 700027, hint: "not registered"},
		{name: "unknown client id", key: join(good.KeyPEM, good.CertPEM), clientID: "11111111-2222-3333-4444-555555555555", code: 700016, hint: "clientId"},
		{name: "unknown tenant", key: join(good.KeyPEM, good.CertPEM), tenant: "fabrikam.onmicrosoft.com", code: 90002, hint: "authorityHostUrl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startEmulator(t, emulator.Config{})
			s := settings(srv, writeFile(t, "key.pem", tt.key))
			s.Thumbprint = tt.thumb
			if tt.tenant != "" {
				s.Tenant = tt.tenant
			}
			if tt.clientID != "" {
				s.ClientID = tt.clientID
			}
			src, err := New(s, srv.Client(), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Token(context.Background())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T), want *Error", err, err)
			}
			if e.Code != tt.code || !strings.Contains(e.Hint, tt.hint) || !strings.Contains(e.Description, fmt.Sprintf("AADSTS%d", tt.code)) {
				t.Errorf("code %d hint %q description %q", e.Code, e.Hint, e.Description)
			}
			if !strings.Contains(err.Error(), e.Hint) || strings.Contains(err.Error(), "\n") {
				t.Errorf("message %q", err)
			}
			if srv.Stats().TokensIssued != 0 {
				t.Error("a token was issued")
			}
		})
	}
}

func TestCredentialErrors(t *testing.T) {
	t.Parallel()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec8, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	ecSEC1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("not really")})
	legacy := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,0011"}, Bytes: []byte("x")})
	dir := t.TempDir()

	tests := []struct {
		name      string
		key       []byte // nil: the key file does not exist
		keyPath   string // instead of writing key
		cert      []byte // certificateFile content, nil: none
		certPath  string
		thumb     string
		wantCert  bool // the error names the certificate file
		wantInMsg []string
	}{
		{name: "thumbprint mismatch", key: join(good.KeyPEM, good.CertPEM), thumb: other.Thumbprint, wantInMsg: []string{good.Thumbprint, other.Thumbprint}},
		{name: "expired certificate", key: join(expired.KeyPEM, expired.CertPEM), wantInMsg: []string{"expired on " + expired.Cert.NotAfter.UTC().Format("2006-01-02")}},
		{name: "certificate not yet valid", key: join(future.KeyPEM, future.CertPEM), wantInMsg: []string{"not valid before " + future.Cert.NotBefore.UTC().Format("2006-01-02")}},
		{name: "expired separate certificate", key: expired.KeyPEM, cert: expired.CertPEM, wantCert: true, wantInMsg: []string{"expired"}},
		{name: "encrypted PKCS#8 key", key: join(encrypted, good.CertPEM), wantInMsg: []string{"encrypted", "openssl pkcs8 -topk8 -nocrypt"}},
		{name: "legacy encrypted key", key: join(good.CertPEM, legacy), wantInMsg: []string{"openssl pkcs8 -topk8 -nocrypt"}},
		{name: "missing file", keyPath: filepath.Join(dir, "nope.pem"), wantInMsg: []string{"no such file", "privateKeyFile"}},
		{name: "missing certificate file", key: good.KeyPEM, certPath: filepath.Join(dir, "nope.crt"), wantCert: true, wantInMsg: []string{"no such file", "certificateFile"}},
		{name: "directory", keyPath: dir, wantInMsg: []string{"cannot read"}},
		{name: "EC key PKCS#8", key: join(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ec8}), good.CertPEM), wantInMsg: []string{"EC key", "RSA"}},
		{name: "EC key SEC1", key: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecSEC1}), thumb: good.Thumbprint, wantInMsg: []string{"EC key", "RSA"}},
		{name: "garbage", key: []byte("hello, this is not a key\n"), wantInMsg: []string{"no PEM key or certificate"}},
		{name: "empty file", key: []byte{}, wantInMsg: []string{"is empty"}},
		{name: "binary DER", key: good.Cert.Raw, wantInMsg: []string{"binary"}},
		{name: "broken key block", key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")}), thumb: good.Thumbprint, wantInMsg: []string{"unreadable PRIVATE KEY"}},
		{name: "key without certificate or thumbprint", key: good.KeyPEM, wantInMsg: []string{"no certificate", "thumbprint"}},
		{name: "certificate without key", key: good.CertPEM, wantInMsg: []string{"no private key"}},
		{name: "certificate of another key", key: join(good.KeyPEM, other.CertPEM), wantInMsg: []string{"belongs to the private key", other.Thumbprint}},
		{name: "two keys", key: join(good.KeyPEM, other.KeyPEM, good.CertPEM), wantInMsg: []string{"second private key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keyPath := tt.keyPath
			if keyPath == "" {
				keyPath = writeFile(t, "key.pem", tt.key)
			}
			s := Settings{AuthorityHost: "https://127.0.0.1:1", Tenant: tenantID, ClientID: clientID, Resource: "https://127.0.0.1:1", PrivateKeyFile: keyPath, Thumbprint: tt.thumb}
			switch {
			case tt.certPath != "":
				s.CertificateFile = tt.certPath
			case tt.cert != nil:
				s.CertificateFile = writeFile(t, "cert.pem", tt.cert)
			}
			_, err := New(s, nil, nil)
			var e *CredentialError
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T), want *CredentialError", err, err)
			}
			wantFile := s.PrivateKeyFile
			if tt.wantCert {
				wantFile = s.CertificateFile
			}
			if e.File != wantFile {
				t.Errorf("file %q, want %q", e.File, wantFile)
			}
			for _, w := range tt.wantInMsg {
				if !strings.Contains(e.Msg, w) {
					t.Errorf("message %q lacks %q", e.Msg, w)
				}
			}
		})
	}
}

func TestUnreadableKeyFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	path := writeFile(t, "key.pem", good.KeyPEM)
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	_, err := New(Settings{AuthorityHost: "https://127.0.0.1:1", Tenant: tenantID, ClientID: clientID, Resource: "https://x", PrivateKeyFile: path, Thumbprint: good.Thumbprint}, nil, nil)
	var e *CredentialError
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "permission denied") {
		t.Fatalf("got %v", err)
	}
}

// fastPolicy keeps retry tests quick.
var fastPolicy = retrytest.Policy

func TestTransientTokenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		faults     emulator.Faults
		fail       int
		retryAfter string
		wantErr    string // "" = a token
		minElapsed time.Duration
	}{
		{name: "emulator 503s, retried to success", faults: emulator.Faults{TokenError: 0.5}},
		{name: "two 503s with Retry-After, honoured and capped", fail: 2, retryAfter: "1", minElapsed: 2 * fastPolicy.RetryAfterCap},
		{name: "503s without Retry-After", fail: 4},
		{name: "always 503", faults: emulator.Faults{TokenError: 1}, wantErr: fmt.Sprintf("giving up after %d attempts", fastPolicy.Attempts)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Seed 4 makes the emulator fail the first two token requests at 0.5.
			srv := startEmulator(t, emulator.Config{Seed: 4})
			srv.SetFaults(tt.faults)
			rec, hc := recording(srv)
			rec.fail, rec.retryAfter = tt.fail, tt.retryAfter
			src, err := New(settings(srv, writeFile(t, "key.pem", join(good.KeyPEM, good.CertPEM))), hc, nil)
			if err != nil {
				t.Fatal(err)
			}
			src.policy = fastPolicy
			start := time.Now()
			tok, err := src.Token(context.Background())
			elapsed := time.Since(start)
			if tt.wantErr != "" {
				var e *Error
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.As(err, &e) {
					t.Fatalf("got %v, want a plain error containing %q", err, tt.wantErr)
				}
				if got := srv.Stats().Faults; got != fastPolicy.Attempts {
					t.Errorf("%d token requests failed, want %d", got, fastPolicy.Attempts)
				}
				return
			}
			if err != nil || tok == "" {
				t.Fatalf("token %q, %v", tok, err)
			}
			if failed := srv.Stats().Faults + min(rec.posts, rec.fail); failed == 0 {
				t.Error("no request failed: the test tests nothing")
			}
			if elapsed < tt.minElapsed || elapsed > time.Second {
				t.Errorf("took %v, want at least %v and well under the 1s Retry-After", elapsed, tt.minElapsed)
			}
		})
	}
}

// The token request keeps to its policy's wait budget as API requests do: a token is asked for
// inside an API request's own retries, and a run under cron must not hang on Azure AD.
func TestTokenRetriesKeepToTheBudget(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t, emulator.Config{})
	rec, hc := recording(srv)
	rec.fail, rec.retryAfter = 1000, "1" // every wait is the Retry-After cap: 20 ms
	src, err := New(settings(srv, writeFile(t, "key.pem", join(good.KeyPEM, good.CertPEM))), hc, nil)
	if err != nil {
		t.Fatal(err)
	}
	src.policy = retry.Policy{Attempts: 100, Base: time.Hour, Cap: time.Hour, RetryAfterCap: 20 * time.Millisecond, Budget: 50 * time.Millisecond}
	_, err = src.Token(context.Background())
	// Two waits of 20 ms fit in 50 ms, a third does not: three tries.
	if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts, 0s of waiting") {
		t.Fatalf("got %v, want giving up after 3 attempts", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.posts < 3 || rec.posts >= 100 {
		t.Errorf("%d token requests, want 3 tries' worth", rec.posts)
	}
}

func TestTokenWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t, emulator.Config{})
	rec, hc := recording(srv)
	rec.fail, rec.retryAfter = 100, "3600"
	src, err := New(settings(srv, writeFile(t, "key.pem", join(good.KeyPEM, good.CertPEM))), hc, nil)
	if err != nil {
		t.Fatal(err)
	}
	src.policy = retry.Policy{Attempts: 5, Base: time.Hour, Cap: time.Hour, RetryAfterCap: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = src.Token(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
}

func TestNewNeedsSettings(t *testing.T) {
	tests := []struct {
		name string
		s    Settings
	}{
		{"no authority", Settings{Tenant: tenantID, ClientID: clientID, Resource: "https://x"}},
		{"no tenant", Settings{AuthorityHost: "https://x", ClientID: clientID, Resource: "https://x"}},
		{"no resource", Settings{AuthorityHost: "https://x", Tenant: tenantID, ClientID: clientID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.s, nil, nil); err == nil {
				t.Error("no error")
			}
		})
	}
}

// TestForcedRegionIgnored: with MSAL_FORCE_REGION set MSAL would send the
// request to a regional host such as westus.login.microsoft.com.
func TestForcedRegionIgnored(t *testing.T) {
	t.Setenv("MSAL_FORCE_REGION", "westus")
	srv := startEmulator(t, emulator.Config{})
	src, err := New(settings(srv, writeFile(t, "key.pem", join(good.KeyPEM, good.CertPEM))), srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
}
