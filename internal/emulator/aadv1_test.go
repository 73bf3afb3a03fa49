package emulator

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestTokenV1 is what an ADAL-based client (such as the Python tool o365logfetch replaces)
// does: POST /{tenant}/oauth2/token?api-version=1.0 with resource and an RS256 client
// assertion carrying x5t (SHA-1 thumbprint), then call the API with the token.
func TestTokenV1(t *testing.T) {
	s, clk := start(t, Config{})
	cred, other := creds(t)
	endpoint := s.URL + "/" + s.cfg.TenantDomain + "/oauth2/token"
	claims := func() map[string]any {
		c := goodClaims(s, clk.Now())
		c["aud"] = endpoint // ADAL signs for the v1 endpoint it posts to
		return c
	}
	form := func(a string) url.Values {
		return url.Values{
			"grant_type":            {"client_credentials"},
			"client_id":             {s.cfg.ClientID},
			"resource":              {s.Resource()},
			"client_assertion_type": {jwtBearer},
			"client_assertion":      {a},
		}
	}
	post := func(f url.Values) (int, map[string]any) {
		t.Helper()
		resp, err := s.Client().PostForm(endpoint+"?api-version=1.0", f)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		raw, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("token body %q: %v", raw, err)
		}
		return resp.StatusCode, body
	}
	good := assertion(t, assertionOpts{alg: "RS256", thumb: "x5t", enc: base64.RawURLEncoding, key: cred.Key, cert: cred.Cert, claims: claims()})

	status, body := post(form(good))
	if status != http.StatusOK {
		t.Fatalf("v1 token: HTTP %d %v", status, body)
	}
	// v1 answers carry their numbers as strings.
	for _, k := range []string{"expires_in", "ext_expires_in", "expires_on", "not_before"} {
		if _, ok := body[k].(string); !ok {
			t.Errorf("%s = %#v, want a string as Azure AD v1 sends it", k, body[k])
		}
	}
	if body["resource"] != s.Resource() || body["token_type"] != "Bearer" {
		t.Errorf("resource %v, token_type %v", body["resource"], body["token_type"])
	}
	tok, _ := body["access_token"].(string)
	resp, b := api(t, s, http.MethodGet, tok, "subscriptions/list", false)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("API with the v1 token: HTTP %d %s", resp.StatusCode, b)
	}

	v2aud := claims()
	v2aud["aud"] = s.tokenEndpoint()
	refused := []struct {
		name string
		form url.Values
		code int
	}{
		{"assertion signed by a key the app does not know", form(assertion(t, assertionOpts{alg: "RS256", thumb: "x5t", key: other.Key, cert: other.Cert, claims: claims()})), 700027},
		{"assertion for the v2 endpoint", form(assertion(t, assertionOpts{alg: "RS256", thumb: "x5t", key: cred.Key, cert: cred.Cert, claims: v2aud})), 700027},
		{"expired assertion", form(assertion(t, assertionOpts{alg: "RS256", thumb: "x5t", key: cred.Key, cert: cred.Cert, claims: func() map[string]any {
			c := claims()
			c["exp"] = clk.Now().Add(-time.Minute).Unix()
			return c
		}()})), 700024},
		{"another resource", func() url.Values { f := form(good); f.Set("resource", "https://manage.office.com"); return f }(), 500011},
		{"no resource", func() url.Values { f := form(good); f.Del("resource"); return f }(), 900144},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(tt.form)
			if status == http.StatusOK || aadCode(body) != tt.code {
				t.Errorf("HTTP %d AADSTS%d, want refused with AADSTS%d: %v", status, aadCode(body), tt.code, body)
			}
		})
	}
}
