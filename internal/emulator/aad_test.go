package emulator

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

func TestDiscovery(t *testing.T) {
	s, _ := start(t, Config{})
	tests := []struct {
		name   string
		tenant string
		status int
	}{
		{"guid", DefaultTenantID, http.StatusOK},
		{"domain", DefaultTenantDomain, http.StatusOK},
		{"unknown tenant", "fabrikam.onmicrosoft.com", http.StatusBadRequest},
		{"common is not a tenant", "common", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := s.Client().Get(s.URL + "/" + tt.tenant + "/v2.0/.well-known/openid-configuration?")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var doc map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tt.status, doc)
			}
			if tt.status != http.StatusOK {
				if aadCode(doc) != 90002 {
					t.Errorf("error_codes %v, want [90002]", doc["error_codes"])
				}
				return
			}
			want := map[string]string{
				"token_endpoint":         s.URL + "/" + DefaultTenantID + "/oauth2/v2.0/token",
				"authorization_endpoint": s.URL + "/" + DefaultTenantID + "/oauth2/v2.0/authorize",
				"issuer":                 s.URL + "/" + DefaultTenantID + "/v2.0",
			}
			for k, v := range want {
				if doc[k] != v {
					t.Errorf("%s = %v, want %s", k, doc[k], v)
				}
			}
		})
	}
}

func TestTokenAssertion(t *testing.T) {
	s, clk := start(t, Config{})
	cred, other := creds(t)
	now := clk.Now()
	with := func(k string, v any) map[string]any {
		c := goodClaims(s, now)
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	tests := []struct {
		name   string
		opts   assertionOpts
		form   func(url.Values)
		status int
		code   int
	}{
		{"PS256 x5t#S256 std base64 (MSAL)", assertionOpts{alg: "PS256", thumb: "x5t#S256"}, nil, 200, 0},
		{"PS256 x5t#S256 url base64", assertionOpts{alg: "PS256", thumb: "x5t#S256", enc: base64.RawURLEncoding}, nil, 200, 0},
		{"RS256 x5t url base64 (ADAL)", assertionOpts{alg: "RS256", thumb: "x5t", enc: base64.RawURLEncoding}, nil, 200, 0},
		{"RS256 x5t padded std base64", assertionOpts{alg: "RS256", thumb: "x5t", enc: base64.StdEncoding}, nil, 200, 0},
		{"RS256 x5t#S256", assertionOpts{alg: "RS256", thumb: "x5t#S256"}, nil, 200, 0},
		{"wrong key for registered cert", assertionOpts{alg: "PS256", key: other.Key}, nil, 401, 700027},
		{"unknown cert", assertionOpts{alg: "PS256", key: other.Key, cert: other.Cert}, nil, 401, 700027},
		{"bad signature", assertionOpts{alg: "PS256", tamper: true}, nil, 401, 700027},
		{"RS256 signature labelled PS256", assertionOpts{alg: "PS256", claims: nil}, func(f url.Values) {
			a := assertion(t, assertionOpts{alg: "RS256", key: cred.Key, cert: cred.Cert, claims: goodClaims(s, now)})
			p := strings.Split(a, ".")
			h, _ := json.Marshal(map[string]string{"alg": "PS256", "typ": "JWT", "x5t#S256": s256(cred.Cert)})
			f.Set("client_assertion", base64.RawURLEncoding.EncodeToString(h)+"."+p[1]+"."+p[2])
		}, 401, 700027},
		{"no thumbprint", assertionOpts{alg: "PS256", noHeader: true}, nil, 401, 700027},
		{"wrong aud", assertionOpts{alg: "PS256", claims: with("aud", s.URL+"/"+DefaultTenantDomain+"/oauth2/token")}, nil, 401, 700027},
		{"aud with v2.0 authority", assertionOpts{alg: "PS256", claims: with("aud", "https://login.microsoftonline.com/"+DefaultTenantID+"/oauth2/v2.0/token")}, nil, 401, 700027},
		{"iss not client", assertionOpts{alg: "PS256", claims: with("iss", "someone")}, nil, 401, 700027},
		{"sub missing", assertionOpts{alg: "PS256", claims: with("sub", nil)}, nil, 401, 700027},
		{"jti missing", assertionOpts{alg: "PS256", claims: with("jti", nil)}, nil, 401, 700027},
		{"expired assertion", assertionOpts{alg: "PS256", claims: with("exp", now.Add(-time.Second).Unix())}, nil, 401, 700024},
		{"nbf far in future", assertionOpts{alg: "PS256", claims: with("nbf", now.Add(time.Hour).Unix())}, nil, 401, 700024},
		{"nbf within skew", assertionOpts{alg: "PS256", claims: with("nbf", now.Add(2*time.Minute).Unix())}, nil, 200, 0},
		{"wrong client_id", assertionOpts{alg: "PS256"}, func(f url.Values) { f.Set("client_id", "00000000-0000-0000-0000-000000000000") }, 400, 700016},
		{"scope of another resource", assertionOpts{alg: "PS256"}, func(f url.Values) { f.Set("scope", "https://manage.office.com/.default") }, 400, 500011},
		{"scope without .default", assertionOpts{alg: "PS256"}, func(f url.Values) { f.Set("scope", s.Resource()) }, 400, 70011},
		{"wrong grant", assertionOpts{alg: "PS256"}, func(f url.Values) { f.Set("grant_type", "password") }, 400, 70003},
		{"wrong assertion type", assertionOpts{alg: "PS256"}, func(f url.Values) { f.Set("client_assertion_type", "jwt") }, 400, 900144},
		{"secret instead of cert", assertionOpts{alg: "PS256"}, func(f url.Values) { f.Del("client_assertion"); f.Set("client_secret", "s3cret") }, 401, 7000215},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			if o.key == nil {
				o.key = cred.Key
			}
			if o.cert == nil {
				o.cert = cred.Cert
			}
			if o.claims == nil {
				o.claims = goodClaims(s, now)
			}
			f := tokenForm(s, assertion(t, o))
			if tt.form != nil {
				tt.form(f)
			}
			status, body := postToken(t, s, f)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			if tt.code != 0 {
				if got := aadCode(body); got != tt.code {
					t.Errorf("AADSTS %d, want %d: %v", got, tt.code, body["error_description"])
				}
				if d, _ := body["error_description"].(string); !strings.HasPrefix(d, "AADSTS") {
					t.Errorf("error_description %q does not start with AADSTS", d)
				}
				return
			}
			if body["access_token"] == "" || body["token_type"] != "Bearer" {
				t.Errorf("token body %v", body)
			}
		})
	}
}

func s256(c *x509.Certificate) string {
	return base64.StdEncoding.EncodeToString(sha256Sum(c.Raw))
}

func TestTokenCertificateValidity(t *testing.T) {
	tests := []struct {
		name   string
		offset time.Duration // clock relative to testNow
		status int
	}{
		{"cert valid", 0, 200},
		{"cert expired", 366 * 24 * time.Hour, 401},
		{"cert not yet valid", -48 * time.Hour, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := start(t, Config{})
			clk.Add(tt.offset)
			cred, _ := creds(t)
			a := assertion(t, assertionOpts{alg: "PS256", key: cred.Key, cert: cred.Cert, claims: goodClaims(s, clk.Now())})
			status, body := postToken(t, s, tokenForm(s, a))
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			if status != 200 && aadCode(body) != 700027 {
				t.Errorf("code %v, want 700027", body["error_codes"])
			}
		})
	}
}

func TestTokenResponseShape(t *testing.T) {
	s, _ := start(t, Config{TokenLifetime: 90 * time.Minute})
	cred, _ := creds(t)
	a := assertion(t, assertionOpts{alg: "PS256", key: cred.Key, cert: cred.Cert, claims: goodClaims(s, s.now())})
	resp, err := s.Client().PostForm(s.tokenEndpoint(), tokenForm(s, a))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	// MSAL cannot parse a float here.
	if !strings.Contains(string(raw), `"expires_in":5400,`) {
		t.Errorf("expires_in not the integer 5400: %s", raw)
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	claims, err := verifyHS256(s.hmacKey, body.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"aud": s.Resource(), "tid": DefaultTenantID, "appid": DefaultClientID} {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %s", k, claims[k], v)
		}
	}
	if s.Stats().TokensIssued != 1 {
		t.Errorf("TokensIssued = %d, want 1", s.Stats().TokensIssued)
	}
}

// TestMSAL proves the real MSAL client gets a token and uses it.
func TestMSAL(t *testing.T) {
	cred, _ := creds(t)
	tests := []struct {
		name   string
		tenant string
	}{
		{"authority with tenant guid", DefaultTenantID},
		{"authority with tenant domain", DefaultTenantDomain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// MSAL signs with the real clock.
			s, _ := start(t, Config{Now: time.Now})
			certs, key, err := confidential.CertFromPEM(append(append([]byte{}, cred.CertPEM...), cred.KeyPEM...), "")
			if err != nil {
				t.Fatal(err)
			}
			c, err := confidential.NewCredFromCert(certs, key)
			if err != nil {
				t.Fatal(err)
			}
			app, err := confidential.New(s.URL+"/"+tt.tenant, DefaultClientID, c,
				confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(s.Client()))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			scopes := []string{s.Resource() + "/.default"}
			res, err := app.AcquireTokenByCredential(ctx, scopes)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := app.AcquireTokenByCredential(ctx, scopes); err != nil {
				t.Fatal(err)
			}
			if n := s.Stats().TokensIssued; n != 1 {
				t.Errorf("TokensIssued = %d, want 1 (the second call must hit MSAL's cache)", n)
			}
			resp, body := api(t, s, http.MethodGet, res.AccessToken, "subscriptions/list", false)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("list with MSAL token: %d %s", resp.StatusCode, body)
			}
		})
	}
}
