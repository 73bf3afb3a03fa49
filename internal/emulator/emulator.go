// Package emulator is a strict, in-process stand-in for Azure AD (the token
// side MSAL talks to) and the Office 365 Management Activity API.
//
// It is strict on purpose: wherever Microsoft documents a rule a client can
// get wrong, the emulator answers with the error Microsoft would send (and in
// a few places where Microsoft would silently degrade, such as a missing
// PublisherIdentifier, it fails loudly), so that a client bug fails a test
// instead of surfacing in production.
package emulator

import (
	"crypto/rand"
	"crypto/x509"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults used for zero Config fields.
const (
	DefaultTenantID     = "7d4f3c2e-1b5a-4e8f-9c6d-0a1b2c3d4e5f"
	DefaultTenantDomain = "contoso.onmicrosoft.com"
	DefaultClientID     = "5a1e7b9c-3d2f-4a6b-8c0e-1f2a3b4c5d6e"
	DefaultRole         = "ActivityFeed.Read"
)

// ContentTypes lists the five content types with their exact casing.
var ContentTypes = []string{
	"Audit.AzureActiveDirectory",
	"Audit.Exchange",
	"Audit.SharePoint",
	"Audit.General",
	"DLP.All",
}

// Subscription statuses.
const (
	StatusEnabled  = "enabled"
	StatusDisabled = "disabled"
)

// Config of an emulated tenant. Zero values get defaults.
type Config struct {
	TenantID      string              // GUID; default DefaultTenantID
	TenantDomain  string              // default DefaultTenantDomain; the authority accepts GUID or domain
	ClientID      string              // default DefaultClientID
	Certs         []*x509.Certificate // registered app certificates; an assertion must be signed by one of their keys
	ClientSecret  string              // registered client secret; "" = none, every secret is refused (AADSTS7000215)
	Roles         []string            // roles in issued access tokens; default {"ActivityFeed.Read"}
	TokenLifetime time.Duration       // default 1h; expires_in is sent as an integer (MSAL breaks on floats)
	// ServerTokenLifetime, when set, makes the API refuse tokens older than this (401) although
	// expires_in promised more: a token revoked or expired on the server's side mid-run.
	ServerTokenLifetime time.Duration
	PageSize            int               // listing entries per page; default 3
	Now                 func() time.Time  // clock for window rules, visibility, expiry, tokens; default time.Now
	Seed                int64             // makes generated records and faults deterministic
	Subscriptions       map[string]string // content type -> "enabled" | "disabled"; missing = no subscription. nil => all five enabled
	// MaxWindow is the longest listing window accepted; a longer one is refused with AF20055.
	// Default 24 hours, as documented.
	MaxWindow time.Duration
	// LiveQuirks makes the emulator answer the way the live service was observed to,
	// where that differs from Microsoft's documentation:
	//   - a window of exactly MaxWindow (24 hours) is refused with AF20055 too;
	//   - the next-page link comes in a lower-case "nextpageuri" header, with lower-case
	//     query names (contenttype, starttime, endtime, nextpage), without
	//     PublisherIdentifier, under /api/v1/ rather than /api/v1.0/;
	//   - throttling (HTTP 429) comes without Retry-After;
	//   - listing entries spell contentType in another casing (Audit.Sharepoint, ...) and
	//     list contentExpiration 14 days after the blob's first timestamp.
	LiveQuirks bool
	// HTTP2 makes a TLS server offer HTTP/2 (ALPN "h2", preferred) besides HTTP/1.1, as the
	// live service does. A dropped-connection fault then resets the stream rather than the
	// connection.
	HTTP2 bool
}

func (c Config) withDefaults() Config {
	if c.TenantID == "" {
		c.TenantID = DefaultTenantID
	}
	if c.TenantDomain == "" {
		c.TenantDomain = DefaultTenantDomain
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.Roles == nil {
		c.Roles = []string{DefaultRole}
	}
	if c.TokenLifetime <= 0 {
		c.TokenLifetime = time.Hour
	}
	if c.PageSize <= 0 {
		c.PageSize = 3
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxWindow <= 0 {
		c.MaxWindow = maxWindow
	}
	return c
}

// Faults injected into answers. Fractions are in [0,1]; each API request draws
// once from the seeded generator, so the fractions add up (their sum should
// stay <= 1).
type Faults struct {
	Latency        time.Duration // added before every answer (ends early when the request is cancelled)
	ServerError    float64       // fraction of API requests answered 503 with JSON {"error":{"code":"AF50000",...}}
	HTMLError      float64       // fraction answered 502 with an HTML gateway page (content-type text/html)
	Throttle429    float64       // fraction answered 429 (with Retry-After: 1)
	Throttle403    float64       // fraction answered 403 AF429 "Too many requests..."
	Drop           float64       // fraction where the connection is dropped (blob downloads: after part of the body; else before any answer)
	TokenError     float64       // fraction of token-endpoint POSTs answered 503 (AADSTS-style JSON body)
	QuotaPerMinute int           // if >0, API requests beyond this many in any rolling minute get 403 AF429
}

// Request is one request the emulator saw.
type Request struct {
	Method, Path, RawQuery string
	Host                   string // as the client named it: a request for another origin shows here
	HasAuth                bool
	PublisherID            string
	Status                 int    // 0 when the connection was dropped
	Kind                   string // "discovery","token","list","content","blob","start","stop","subscriptions","other"
}

// Stats counts what the emulator served.
type Stats struct {
	TokensIssued  int // access tokens issued
	Listings      int // content listings started (first pages, answered 200)
	Pages         int // listing pages answered 200 (first pages included)
	BlobDownloads int // blob bodies served (200)
	Throttled     int // 429 and 403 AF429 answers
	Faults        int // injected 5xx, HTML errors, drops and token errors
}

// Emulator is an http.Handler serving the emulated tenant. Safe for
// concurrent use.
type Emulator struct {
	cfg     Config
	hmacKey []byte // signs access tokens and nextPage tokens

	mu       sync.Mutex
	baseURL  string // "https://host:port" once known; else derived per request
	subs     map[string]string
	blobs    map[string][]*blobEntry // by content type, sorted by (created, seq)
	byID     map[string]*blobEntry
	bySeq    map[uint64]*blobEntry
	nextSeq  uint64
	faults   Faults
	rng      *mrand.Rand
	failing  map[string]int
	expired  map[string]bool // blobs made to answer AF20051 early
	requests []Request
	stats    Stats
	apiTimes []time.Time // API request times inside the rolling quota minute

	// Hostile modes (hostile.go) and what a test searches logs for.
	blobAnswers map[string]*Answer // by contentId
	listAnswers map[string]*Answer // by content type
	paging      map[string]Paging  // by content type
	listEdits   map[string]map[string]any
	issued      []string // access tokens handed out
	assertions  []string // client assertions received
}

// New returns an emulator for cfg.
func New(cfg Config) *Emulator {
	cfg = cfg.withDefaults()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	e := &Emulator{
		cfg:     cfg,
		hmacKey: key,
		subs:    map[string]string{},
		blobs:   map[string][]*blobEntry{},
		byID:    map[string]*blobEntry{},
		bySeq:   map[uint64]*blobEntry{},
		rng:     mrand.New(mrand.NewPCG(uint64(cfg.Seed), 0x6f333635)),
		failing: map[string]int{},
		expired: map[string]bool{},

		blobAnswers: map[string]*Answer{},
		listAnswers: map[string]*Answer{},
		paging:      map[string]Paging{},
		listEdits:   map[string]map[string]any{},
	}
	if cfg.Subscriptions == nil {
		for _, ct := range ContentTypes {
			e.subs[ct] = StatusEnabled
		}
	} else {
		for ct, st := range cfg.Subscriptions {
			if st != "" {
				e.subs[ct] = st
			}
		}
	}
	return e
}

// Config returns the effective configuration (defaults filled in).
func (e *Emulator) Config() Config { return e.cfg }

// SetURL fixes the base URL ("https://host:port") used as resource, token
// audience and in content URIs. Start does it; call it when serving the
// handler some other way (httptest). Without it the URL is taken from each
// request's Host.
func (e *Emulator) SetURL(u string) {
	e.mu.Lock()
	e.baseURL = strings.TrimSuffix(u, "/")
	e.mu.Unlock()
}

// RegisterCert adds an app certificate, as uploading one to the app registration does; the
// certificates already registered stay valid.
func (e *Emulator) RegisterCert(c *x509.Certificate) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg.Certs = append(e.cfg.Certs[:len(e.cfg.Certs):len(e.cfg.Certs)], c)
}

func (e *Emulator) now() time.Time { return e.cfg.Now().UTC() }

// base is the URL the client sees for this request.
func (e *Emulator) base(r *http.Request) string {
	e.mu.Lock()
	b := e.baseURL
	e.mu.Unlock()
	if b != "" {
		return b
	}
	return requestBase(r)
}

func requestBase(r *http.Request) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

// SetSubscription sets the subscription of a content type: "enabled",
// "disabled", or "" for none.
func (e *Emulator) SetSubscription(contentType, status string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if status == "" {
		delete(e.subs, contentType)
		return
	}
	e.subs[contentType] = status
}

// Subscription returns the subscription status of a content type ("" = none).
func (e *Emulator) Subscription(contentType string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.subs[contentType]
}

// SetFaults replaces the injected faults.
func (e *Emulator) SetFaults(f Faults) {
	e.mu.Lock()
	e.faults = f
	e.mu.Unlock()
}

// FailBlob makes the blob always answer status (0 = stop failing).
func (e *Emulator) FailBlob(contentID string, status int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if status == 0 {
		delete(e.failing, contentID)
		return
	}
	e.failing[contentID] = status
}

// ExpireBlob makes the blob answer AF20051 (expired) from now on, while it is still listed:
// content that expires between its listing and its download.
func (e *Emulator) ExpireBlob(contentID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expired[contentID] = true
}

// Requests returns every request seen, in order.
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Request(nil), e.requests...)
}

// Stats returns the counters.
func (e *Emulator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

func (e *Emulator) count(f func(*Stats)) {
	e.mu.Lock()
	f(&e.stats)
	e.mu.Unlock()
}

// recorder captures the status of an answer for the request log.
type recorder struct {
	http.ResponseWriter
	status int
	logged sync.Once
	log    func(status int)
}

// logNow puts the request in the log, once. A dropped connection calls it
// before closing, so a client that sees the drop also sees it in the log.
func (w *recorder) logNow() { w.logged.Do(func() { w.log(w.status) }) }

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ServeHTTP routes a request to the Azure AD or Activity API part.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind := "other"
	rec := &recorder{ResponseWriter: w}
	rec.log = func(status int) {
		e.mu.Lock()
		e.requests = append(e.requests, Request{
			Method:      r.Method,
			Path:        r.URL.Path,
			RawQuery:    r.URL.RawQuery,
			Host:        r.Host,
			HasAuth:     r.Header.Get("Authorization") != "",
			PublisherID: r.URL.Query().Get("PublisherIdentifier"),
			Status:      status,
			Kind:        kind,
		})
		e.mu.Unlock()
	}
	defer rec.logNow()

	e.mu.Lock()
	latency := e.faults.Latency
	e.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			// Abort, so that no answer goes out: a 200 written after the client gave up
			// could still reach it, racing its own cancellation.
			panic(http.ErrAbortHandler)
		}
	}

	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 4 && parts[0] == "api" && (parts[1] == "v1.0" || parts[1] == "v1") && parts[3] == "activity":
		// The live service also answers under /api/v1/, the path of Microsoft's own NextPageUri example.
		kind = apiKind(parts)
		e.serveAPI(rec, r, parts[2], parts[4:], kind)
	case len(parts) == 4 && parts[1] == "v2.0" && parts[2] == ".well-known" && parts[3] == "openid-configuration":
		kind = "discovery"
		e.serveDiscovery(rec, r, parts[0])
	case len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && parts[3] == "token":
		kind = "token"
		e.serveToken(rec, r, parts[0])
	case len(parts) == 3 && parts[1] == "oauth2" && parts[2] == "token":
		kind = "token"
		e.serveTokenV1(rec, r, parts[0])
	default:
		writeAPIError(rec, http.StatusNotFound, "AF20000", "No resource was found at "+r.URL.Path+".")
	}
}

// apiKind names an Activity API request from the path after /activity.
func apiKind(parts []string) string {
	rest := parts[4:]
	if len(rest) < 1 || rest[0] != "feed" {
		return "other"
	}
	rest = rest[1:]
	switch {
	case len(rest) == 2 && rest[0] == "audit":
		return "blob"
	case len(rest) == 2 && rest[0] == "subscriptions":
		switch rest[1] {
		case "content":
			return "content"
		case "list":
			return "list"
		case "start":
			return "start"
		case "stop":
			return "stop"
		}
		return "subscriptions"
	}
	return "other"
}
