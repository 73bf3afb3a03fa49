package emulator

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	credOnce       sync.Once
	testCred       *AppCredential
	otherCred      *AppCredential
	credErr        error
	testNow        = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	testCredExpiry = testNow.Add(365 * 24 * time.Hour)
)

// creds returns two credentials made once: RSA key generation is slow.
func creds(t *testing.T) (registered, unregistered *AppCredential) {
	t.Helper()
	credOnce.Do(func() {
		testCred, credErr = NewAppCredential(testNow.Add(-24*time.Hour), testCredExpiry)
		if credErr == nil {
			otherCred, credErr = NewAppCredential(testNow.Add(-24*time.Hour), testCredExpiry)
		}
	})
	if credErr != nil {
		t.Fatal(credErr)
	}
	return testCred, otherCred
}

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// start runs an emulator with the registered test credential and a clock
// at testNow unless cfg says otherwise.
func start(t *testing.T, cfg Config) (*Server, *clock) {
	t.Helper()
	cred, _ := creds(t)
	clk := newClock(testNow)
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	if cfg.Certs == nil {
		cfg.Certs = []*x509.Certificate{cred.Cert}
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, clk
}

type assertionOpts struct {
	alg      string // PS256 or RS256
	thumb    string // "x5t#S256" or "x5t"
	enc      *base64.Encoding
	key      *rsa.PrivateKey
	cert     *x509.Certificate
	claims   map[string]any
	tamper   bool
	noHeader bool
}

// assertion signs a client assertion by hand, as a client would.
func assertion(t *testing.T, o assertionOpts) string {
	t.Helper()
	if o.enc == nil {
		o.enc = base64.StdEncoding
	}
	header := map[string]any{"alg": o.alg, "typ": "JWT"}
	if !o.noHeader {
		switch o.thumb {
		case "x5t":
			sum := sha1.Sum(o.cert.Raw)
			header["x5t"] = o.enc.EncodeToString(sum[:])
		default:
			sum := sha256.Sum256(o.cert.Raw)
			header["x5t#S256"] = o.enc.EncodeToString(sum[:])
		}
	}
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(o.claims)
	signed := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	digest := sha256.Sum256([]byte(signed))
	var sig []byte
	var err error
	switch o.alg {
	case "RS256":
		sig, err = rsa.SignPKCS1v15(rand.Reader, o.key, crypto.SHA256, digest[:])
	default:
		sig, err = rsa.SignPSS(rand.Reader, o.key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	if err != nil {
		t.Fatal(err)
	}
	if o.tamper {
		sig[len(sig)/2] ^= 0xff
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func (s *Server) tokenEndpoint() string {
	return s.URL + "/" + s.cfg.TenantID + "/oauth2/v2.0/token"
}

func goodClaims(s *Server, now time.Time) map[string]any {
	return map[string]any{
		"aud": s.tokenEndpoint(),
		"iss": s.cfg.ClientID,
		"sub": s.cfg.ClientID,
		"jti": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0",
		"nbf": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(),
	}
}

// postToken posts a client-credentials request and returns status and body.
func postToken(t *testing.T, s *Server, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := s.Client().PostForm(s.tokenEndpoint(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token body: %v", err)
	}
	return resp.StatusCode, body
}

func tokenForm(s *Server, a string) url.Values {
	return url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {s.cfg.ClientID},
		"scope":                 {s.Resource() + "/.default openid offline_access profile"},
		"client_assertion_type": {jwtBearer},
		"client_assertion":      {a},
	}
}

// token gets an access token with a correct PS256 assertion.
func token(t *testing.T, s *Server) string {
	t.Helper()
	cred, _ := creds(t)
	a := assertion(t, assertionOpts{alg: "PS256", key: cred.Key, cert: cred.Cert, claims: goodClaims(s, s.now())})
	status, body := postToken(t, s, tokenForm(s, a))
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, body)
	}
	return body["access_token"].(string)
}

// api calls the Activity API; pathAndQuery is relative to APIRoot and gets
// PublisherIdentifier unless it already has one or noPub is set.
func api(t *testing.T, s *Server, method, tok, pathAndQuery string, noPub bool) (*http.Response, []byte) {
	t.Helper()
	u := pathAndQuery
	if !strings.HasPrefix(u, "https://") {
		u = s.APIRoot() + "/" + pathAndQuery
	}
	if !noPub && !strings.Contains(u, "PublisherIdentifier=") {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + "PublisherIdentifier=" + s.cfg.TenantID
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// afCode extracts error.code from an Activity API error body.
func afCode(t *testing.T, b []byte) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body %q: %v", b, err)
	}
	return e.Error.Code
}

func aadCode(body map[string]any) int {
	codes, _ := body["error_codes"].([]any)
	if len(codes) != 1 {
		return 0
	}
	f, _ := codes[0].(float64)
	return int(f)
}

func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

func contentQuery(ct string, start, end time.Time) string {
	return "subscriptions/content?contentType=" + ct + "&startTime=" + apiTime(start) + "&endTime=" + apiTime(end)
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
