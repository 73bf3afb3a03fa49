package emulator

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// assertionSkew is how far in the future an assertion's nbf may lie.
	assertionSkew = 5 * time.Minute
)

// knownTenant reports whether the authority path segment names this tenant.
func (e *Emulator) knownTenant(t string) bool {
	return strings.EqualFold(t, e.cfg.TenantID) || strings.EqualFold(t, e.cfg.TenantDomain)
}

// aadError is the body Azure AD sends with a failed token request.
func (e *Emulator) writeAADError(w http.ResponseWriter, status int, errCode string, code int, msg string) {
	now := e.now()
	body := map[string]any{
		"error": errCode,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: 0c6a5e3b-2f1d-4c8e-9a7b-6d5e4f3a2b1c Correlation ID: 3e2d1c0b-9a8f-4e7d-8c6b-5a4f3e2d1c0b Timestamp: %s",
			code, msg, now.Format("2006-01-02 15:04:05Z")),
		"error_codes":    []int{code},
		"timestamp":      now.Format("2006-01-02 15:04:05Z"),
		"trace_id":       "0c6a5e3b-2f1d-4c8e-9a7b-6d5e4f3a2b1c",
		"correlation_id": "3e2d1c0b-9a8f-4e7d-8c6b-5a4f3e2d1c0b",
		"error_uri":      fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", code),
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (e *Emulator) serveDiscovery(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodGet {
		e.writeAADError(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts GET requests.")
		return
	}
	if !e.knownTenant(tenant) {
		e.writeAADError(w, http.StatusBadRequest, "invalid_tenant", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	// Same host:port as the request: MSAL checks the issuer against the
	// authority it was given.
	b := requestBase(r)
	t := e.cfg.TenantID
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        b + "/" + t + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              b + "/" + t + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                b + "/" + t + "/v2.0",
		"request_uri_parameter_supported":       false,
		"authorization_endpoint":                b + "/" + t + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         b + "/" + t + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  b + "/" + t + "/oauth2/v2.0/logout",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
	})
}

func (e *Emulator) serveToken(w http.ResponseWriter, r *http.Request, tenant string) {
	f, ok := e.tokenRequest(w, r, tenant, "scope")
	if !ok {
		return
	}
	if code, errCode, msg := e.checkScope(f.Get("scope"), e.base(r)); code != 0 {
		e.writeAADError(w, http.StatusBadRequest, errCode, code, msg)
		return
	}
	if !e.checkClient(w, r, f) {
		return
	}
	life := int64(e.cfg.TokenLifetime / time.Second)
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     life, // an integer: MSAL fails to parse 3599.0
		"ext_expires_in": life,
		"access_token":   e.issue(e.base(r)),
	})
}

// serveTokenV1 is Azure AD's v1 token endpoint (POST /{tenant}/oauth2/token), which ADAL-based
// clients use: the API is named by resource rather than by a scope, and the answer carries its
// numbers as strings, with expires_on, not_before and resource.
func (e *Emulator) serveTokenV1(w http.ResponseWriter, r *http.Request, tenant string) {
	f, ok := e.tokenRequest(w, r, tenant, "resource")
	if !ok {
		return
	}
	resource, want := strings.TrimRight(f.Get("resource"), "/"), e.base(r)
	if resource != want {
		e.writeAADError(w, http.StatusBadRequest, "invalid_resource", 500011,
			fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", f.Get("resource"), e.cfg.TenantDomain))
		return
	}
	if !e.checkClient(w, r, f) {
		return
	}
	now := e.now()
	life := int64(e.cfg.TokenLifetime / time.Second)
	writeJSON(w, http.StatusOK, map[string]string{
		"token_type":     "Bearer",
		"expires_in":     strconv.FormatInt(life, 10),
		"ext_expires_in": strconv.FormatInt(life, 10),
		"expires_on":     strconv.FormatInt(now.Unix()+life, 10),
		"not_before":     strconv.FormatInt(now.Unix(), 10),
		"resource":       f.Get("resource"),
		"access_token":   e.issue(want),
	})
}

// tokenRequest checks what both token endpoints share: method, tenant, form, grant type,
// client id, and the parameter that names the API (scope or resource). It answers and returns
// false when the request is refused.
func (e *Emulator) tokenRequest(w http.ResponseWriter, r *http.Request, tenant, api string) (url.Values, bool) {
	if r.Method != http.MethodPost {
		e.writeAADError(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST, OPTIONS requests. Received a "+r.Method+" request.")
		return nil, false
	}
	if e.drawTokenFault() {
		e.writeAADError(w, http.StatusServiceUnavailable, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
		return nil, false
	}
	if !e.knownTenant(tenant) {
		e.writeAADError(w, http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return nil, false
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		e.writeAADError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return nil, false
	}
	if err := r.ParseForm(); err != nil {
		e.writeAADError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body could not be parsed.")
		return nil, false
	}
	f := r.PostForm
	for _, p := range []string{"grant_type", "client_id", api} {
		if f.Get(p) == "" {
			e.writeAADError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: '"+p+"'.")
			return nil, false
		}
	}
	if g := f.Get("grant_type"); g != "client_credentials" {
		e.writeAADError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+g+"'.")
		return nil, false
	}
	if id := f.Get("client_id"); id != e.cfg.ClientID {
		e.writeAADError(w, http.StatusBadRequest, "invalid_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", id, e.cfg.TenantDomain))
		return nil, false
	}
	return f, true
}

// issue mints an access token for the API at aud and records it.
func (e *Emulator) issue(aud string) string {
	tok := e.mintToken(aud)
	e.mu.Lock()
	e.stats.TokensIssued++
	e.issued = append(e.issued, tok)
	e.mu.Unlock()
	return tok
}

// checkClient verifies the client's credential in a token request: a client secret, or a
// certificate assertion signed for exactly the endpoint posted to. It answers and returns
// false when the credential is refused.
func (e *Emulator) checkClient(w http.ResponseWriter, r *http.Request, f url.Values) bool {
	if sec := f.Get("client_secret"); sec != "" {
		if e.cfg.ClientSecret == "" || subtle.ConstantTimeCompare([]byte(sec), []byte(e.cfg.ClientSecret)) != 1 {
			e.writeAADError(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+e.cfg.ClientID+"'.")
			return false
		}
	} else {
		if f.Get("client_assertion") == "" {
			e.writeAADError(w, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
			return false
		}
		if t := f.Get("client_assertion_type"); t != jwtBearer {
			e.writeAADError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_assertion_type' with value '"+jwtBearer+"'; got '"+t+"'.")
			return false
		}
		e.mu.Lock()
		e.assertions = append(e.assertions, f.Get("client_assertion"))
		e.mu.Unlock()
		// The assertion must name exactly the endpoint the client posted to.
		endpoint := requestBase(r) + r.URL.Path
		if code, msg := e.verifyAssertion(f.Get("client_assertion"), endpoint); code != 0 {
			e.writeAADError(w, http.StatusUnauthorized, "invalid_client", code, msg)
			return false
		}
	}
	return true
}

// mintToken signs an access token for the API at aud, valid for the token lifetime.
func (e *Emulator) mintToken(aud string) string {
	now := e.now()
	return signHS256(e.hmacKey, map[string]any{
		"aud":   aud,
		"iss":   "https://sts.windows.net/" + e.cfg.TenantID + "/",
		"tid":   e.cfg.TenantID,
		"appid": e.cfg.ClientID,
		"oid":   "0e3f6a2b-7c1d-4e9f-8a5b-2c4d6e8f0a1b",
		"roles": e.cfg.Roles,
		"iat":   now.Unix(),
		"nbf":   now.Unix(),
		"exp":   now.Unix() + int64(e.cfg.TokenLifetime/time.Second),
		"ver":   "1.0",
	})
}

// AccessToken returns a valid access token without the token endpoint, for clients tested
// without MSAL. It is recorded with the issued ones. Call it once the URL is known (Start).
func (e *Emulator) AccessToken() string {
	e.mu.Lock()
	base := e.baseURL
	e.mu.Unlock()
	tok := e.mintToken(base)
	e.mu.Lock()
	e.issued = append(e.issued, tok)
	e.mu.Unlock()
	return tok
}

// checkScope wants exactly resource+"/.default"; MSAL adds openid,
// offline_access and profile on its own.
func (e *Emulator) checkScope(scope, resource string) (code int, errCode, msg string) {
	want := resource + "/.default"
	found := false
	for _, s := range strings.Fields(scope) {
		switch s {
		case want:
			found = true
		case "openid", "offline_access", "profile":
		default:
			if strings.HasSuffix(s, "/.default") {
				return 500011, "invalid_resource", fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", strings.TrimSuffix(s, "/.default"), e.cfg.TenantDomain)
			}
			return 70011, "invalid_scope", fmt.Sprintf("The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope %s is not valid. The client credentials flow needs '%s'.", scope, want)
		}
	}
	if !found {
		return 1002012, "invalid_scope", fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI); want '%s'.", scope, want)
	}
	return 0, "", ""
}

// verifyAssertion checks a certificate client assertion the way Azure AD
// does. It returns an AADSTS code and message, or 0.
func (e *Emulator) verifyAssertion(assertion, endpoint string) (int, string) {
	const bad = 700027
	header, claims, signed, sig, err := jwtParts(assertion)
	if err != nil {
		return bad, "Client assertion failed signature validation: " + err.Error() + "."
	}
	cert, code, msg := e.assertionCert(header)
	if code != 0 {
		return code, msg
	}
	now := e.now()
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return bad, fmt.Sprintf("The certificate with identifier used to sign the client assertion is expired or not yet valid (valid %s to %s).", cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return bad, "The certificate used to sign the client assertion does not hold an RSA key."
	}
	digest := sha256.Sum256([]byte(signed))
	switch alg, _ := header["alg"].(string); alg {
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	default:
		return bad, fmt.Sprintf("Client assertion contains an unsupported signature algorithm '%s'; use PS256 or RS256.", alg)
	}
	if err != nil {
		return bad, "Client assertion failed signature validation."
	}
	if aud := strClaim(claims, "aud"); aud != endpoint {
		return bad, fmt.Sprintf("Client assertion audience claim does not match Realm issuer: aud '%s' must be the token endpoint '%s'.", aud, endpoint)
	}
	if iss, sub := strClaim(claims, "iss"), strClaim(claims, "sub"); iss != e.cfg.ClientID || sub != e.cfg.ClientID {
		return bad, fmt.Sprintf("Client assertion application identifier doesn't match 'client_id' parameter: iss '%s', sub '%s', client_id '%s'.", iss, sub, e.cfg.ClientID)
	}
	if strClaim(claims, "jti") == "" {
		return bad, "Client assertion is missing the 'jti' claim."
	}
	exp, ok := numClaim(claims, "exp")
	if !ok {
		return bad, "Client assertion is missing the 'exp' claim."
	}
	if !time.Unix(exp, 0).After(now) {
		return 700024, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid to: %s.", now.Format(time.RFC3339), time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	if nbf, ok := numClaim(claims, "nbf"); ok && time.Unix(nbf, 0).After(now.Add(assertionSkew)) {
		return 700024, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid from: %s.", now.Format(time.RFC3339), time.Unix(nbf, 0).UTC().Format(time.RFC3339))
	}
	return 0, ""
}

// assertionCert finds the registered certificate the assertion header names
// by x5t#S256 (SHA-256) or x5t (SHA-1); when both are present both must match.
func (e *Emulator) assertionCert(header map[string]any) (*x509.Certificate, int, string) {
	const bad = 700027
	e.mu.Lock()
	certs := e.cfg.Certs
	e.mu.Unlock()
	s256, has256 := header["x5t#S256"].(string)
	s1, has1 := header["x5t"].(string)
	if !has256 && !has1 {
		return nil, bad, "Client assertion contains no certificate thumbprint (x5t or x5t#S256)."
	}
	var found *x509.Certificate
	if has256 {
		want, err := decodeB64(s256)
		if err != nil || len(want) != sha256.Size {
			return nil, bad, "Client assertion x5t#S256 is not a base64 SHA-256 thumbprint."
		}
		for _, c := range certs {
			if sum := sha256.Sum256(c.Raw); string(sum[:]) == string(want) {
				found = c
			}
		}
		if found == nil {
			return nil, bad, fmt.Sprintf("The certificate with identifier (x5t#S256) '%s' used to sign the client assertion is not registered on application. [Reason - The key was not found., Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]", s256, e.cfg.ClientID)
		}
	}
	if has1 {
		want, err := decodeB64(s1)
		if err != nil || len(want) != sha1.Size {
			return nil, bad, "Client assertion x5t is not a base64 SHA-1 thumbprint."
		}
		var c1 *x509.Certificate
		for _, c := range certs {
			if sum := sha1.Sum(c.Raw); string(sum[:]) == string(want) {
				c1 = c
			}
		}
		if c1 == nil || (found != nil && c1 != found) {
			return nil, bad, fmt.Sprintf("The certificate with identifier (x5t) '%s' used to sign the client assertion is not registered on application. [Reason - The key was not found., Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]", s1, e.cfg.ClientID)
		}
		found = c1
	}
	return found, 0, ""
}
