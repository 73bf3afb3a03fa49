// Package auth hands out Azure AD access tokens for the Office 365
// Management Activity API, through MSAL Go.
//
// Credential forms served: a private key with its certificate, from PEM or
// a PFX/PKCS#12 file (MSAL's own PS256 assertion); the Python tool's bare
// private key plus certificate thumbprint (an RS256 assertion carrying x5t,
// as ADAL sent); and a client secret.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/o365logfetch/o365logfetch/internal/retry"
)

// Settings say where to get tokens and with what credential.
type Settings struct {
	AuthorityHost   string // https://host[:port], no trailing slash
	Tenant          string // GUID or domain
	ClientID        string
	Resource        string // scope = Resource + "/.default"
	PrivateKeyFile  string // PEM: key alone, or key + certificate (any order, PKCS#8 or PKCS#1, CRLF, chain)
	CertificateFile string // optional separate certificate PEM
	Thumbprint      string // normalised uppercase hex SHA-1 (40 chars) or ""
	PFXFile         string // PKCS#12 with key and certificate, instead of PrivateKeyFile
	PFXPassword     string // may be empty
	ClientSecret    string // instead of a certificate; never logged

	Logger *slog.Logger // token-request retries are logged here at Warn; nil discards
}

// Source hands out access tokens for the Activity API. It is safe for
// concurrent use; concurrent callers share one token request.
type Source struct {
	authority string
	clientID  string
	scopes    []string
	hc        *http.Client
	now       func() time.Time
	log       *slog.Logger
	loaded    *loaded
	policy    retry.Policy
	renewGap  time.Duration

	sem chan struct{} // one token request at a time, so a cold start asks once

	mu      sync.Mutex
	client  confidential.Client
	created time.Time // when client was built (monotonic clock)
}

// defaultPolicy bounds the retries of a token request: a few tries, each wait capped at 30 s,
// two minutes of waiting in all (a token is asked for inside an API request's own retries).
var defaultPolicy = retry.Policy{Attempts: 5, Base: time.Second, Cap: 30 * time.Second, RetryAfterCap: 30 * time.Second, Budget: 2 * time.Minute}

// renewGap: a Renew within this long of building the current client is a
// no-op. Its token is that young at most, so a 401 on it is not expiry, and
// workers hitting 401 together then cause one token request, not one each.
const renewGap = time.Second

// New loads the credential from disk and builds the MSAL confidential
// client. Credential problems are *CredentialError. hc nil means MSAL's
// default client; now nil means time.Now (it dates client assertions and
// judges certificate validity).
func New(s Settings, hc *http.Client, now func() time.Time) (*Source, error) {
	if now == nil {
		now = time.Now
	}
	if s.AuthorityHost == "" || s.Tenant == "" || s.ClientID == "" || s.Resource == "" {
		return nil, errors.New("auth: authority host, tenant, client id and resource are all required")
	}
	l, err := loadCredential(s, now)
	if err != nil {
		return nil, err
	}
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	src := &Source{
		authority: strings.TrimRight(s.AuthorityHost, "/") + "/" + s.Tenant,
		clientID:  s.ClientID,
		scopes:    []string{strings.TrimRight(s.Resource, "/") + "/.default"},
		hc:        hc,
		now:       now,
		log:       log,
		loaded:    l,
		policy:    defaultPolicy,
		renewGap:  renewGap,
		sem:       make(chan struct{}, 1),
	}
	c, err := src.newClient()
	if err != nil {
		return nil, err
	}
	src.client, src.created = c, time.Now()
	return src, nil
}

func (s *Source) newClient() (confidential.Client, error) {
	opts := []confidential.Option{
		// Otherwise MSAL first asks login.microsoftonline.com about any host.
		confidential.WithInstanceDiscovery(false),
		// A stray MSAL_FORCE_REGION must not send us to a regional endpoint.
		confidential.WithAzureRegion("DisableMsalForceRegion"),
	}
	if s.hc != nil {
		opts = append(opts, confidential.WithHTTPClient(s.hc))
	}
	c, err := confidential.New(s.authority, s.clientID, s.loaded.cred, opts...)
	if err != nil {
		return confidential.Client{}, fmt.Errorf("token client for %s: %w", s.authority, err)
	}
	return c, nil
}

// Credential describes what was loaded.
func (s *Source) Credential() Credential { return s.loaded.info }

// Token returns a valid access token, from MSAL's cache while one is valid.
// 5xx, 429, 408 and network errors are retried a few times with backoff;
// a refusal by Azure AD is *Error.
func (s *Source) Token(ctx context.Context) (string, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("token: %w", ctx.Err())
	}
	defer func() { <-s.sem }()

	var token string
	err := s.policy.Do(ctx, func(int) (retry.Verdict, time.Duration, error) {
		s.mu.Lock()
		c := s.client
		s.mu.Unlock()
		res, err := c.AcquireTokenByCredential(ctx, s.scopes)
		if err == nil {
			token = res.AccessToken
			return retry.Done, 0, nil
		}
		if ctx.Err() != nil {
			return retry.Done, 0, fmt.Errorf("token from %s: %w", s.authority, ctx.Err())
		}
		again, after := transient(err, s.now())
		if !again {
			if isHTTPStatus(err) {
				return retry.Done, 0, refusal(err)
			}
			return retry.Done, 0, fmt.Errorf("token from %s: %w", s.authority, err)
		}
		return retry.Again, after, err
	}, func(attempt int, wait time.Duration, err error) {
		s.log.Warn("token request failed, retrying", "attempt", attempt, "wait", wait, "error", err)
	})
	var gaveUp *retry.GaveUpError
	switch {
	case err == nil:
		return token, nil
	case errors.As(err, &gaveUp) && gaveUp.OverBudget:
		return "", fmt.Errorf("token from %s: giving up after %d attempts, %s of waiting: %w", s.authority, gaveUp.Tries, gaveUp.Waited.Round(time.Second), gaveUp.Err)
	case errors.As(err, &gaveUp):
		return "", fmt.Errorf("token from %s: giving up after %d attempts: %w", s.authority, gaveUp.Tries, gaveUp.Err)
	case err == ctx.Err(): // ended during a wait
		return "", fmt.Errorf("token from %s: %w", s.authority, err)
	}
	return "", err
}

// Renew drops the cached token, for when the API answered 401. MSAL cannot
// force a refresh, so this builds a new client with an empty cache; the
// next Token asks Azure AD again.
func (s *Source) Renew() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.created) < s.renewGap {
		return nil
	}
	c, err := s.newClient()
	if err != nil {
		return err
	}
	s.client, s.created = c, time.Now()
	return nil
}
