// Package activity is a client of the Office 365 Management Activity API: subscriptions, content
// listing with paging, blob download. It retries what is worth retrying, paces requests, and sends
// the bearer token only to the configured API host. It knows nothing of files or state.
package activity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/retry"
)

// TokenSource hands out bearer tokens for the API.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	// Renew drops the current token so the next Token call fetches a fresh one.
	Renew() error
}

// Options configure a Client.
type Options struct {
	Root              string       // activityApiRoot: https://host/api/v1.0/{tenantId}/activity/feed
	PublisherID       string       // sent as PublisherIdentifier on every request
	HTTP              *http.Client // TLS-verifying client; redirects are refused on a copy of it
	Tokens            TokenSource
	Retry             Retry            // zero value: DefaultRetry
	RequestsPerMinute int              // client-side pacing shared by all callers; 0 = none
	Now               func() time.Time // clock for skew checks; default time.Now
	Log               *slog.Logger     // default slog.Default()
	MaxBlobBytes      int64            // largest blob body accepted; 0 = DefaultMaxBlobBytes
}

// Client talks to one tenant's Activity API. Safe for concurrent use.
type Client struct {
	root    *url.URL
	pubID   string
	http    *http.Client
	tokens  TokenSource
	retry   Retry
	pace    *pacer
	now     func() time.Time
	log     *slog.Logger
	retries atomic.Int64 // retries logged so far
	maxBlob int64

	skewOnce sync.Once
	skewMu   sync.Mutex
	skew     time.Duration
}

// New checks the options and builds a Client.
func New(o Options) (*Client, error) {
	root, err := url.Parse(strings.TrimRight(o.Root, "/"))
	if err != nil || root.Scheme != "https" || root.Host == "" {
		return nil, fmt.Errorf("activity API root %q: must be an absolute https URL", o.Root)
	}
	if o.PublisherID == "" {
		return nil, errors.New("activity API: publisher identifier is empty")
	}
	if o.HTTP == nil || o.Tokens == nil {
		return nil, errors.New("activity API: HTTP client and token source are required")
	}
	hc := *o.HTTP
	// A redirect would carry our request elsewhere; the API never redirects, so refuse them all.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{
		root: root, pubID: o.PublisherID, http: &hc, tokens: o.Tokens,
		retry: o.Retry, pace: newPacer(o.RequestsPerMinute, nil), now: o.Now, log: o.Log,
		maxBlob: o.MaxBlobBytes,
	}
	if c.maxBlob <= 0 {
		c.maxBlob = DefaultMaxBlobBytes
	}
	if c.retry.Attempts <= 0 {
		c.retry = DefaultRetry
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c, nil
}

// Pace is the current request pace in requests per minute: the configured one, or less for a
// while after throttling. Zero when requests are not paced.
func (c *Client) Pace() float64 { return c.pace.current() }

// Skew is the API clock minus ours, as seen on the first answer (zero before any answer).
func (c *Client) Skew() time.Duration {
	c.skewMu.Lock()
	defer c.skewMu.Unlock()
	return c.skew
}

// endpoint is root + "/" + path with the query, PublisherIdentifier included.
func (c *Client) endpoint(path string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	q.Set("PublisherIdentifier", c.pubID)
	u := *c.root
	u.Path = c.root.Path + "/" + path
	u.RawQuery = q.Encode()
	return u.String()
}

// sameOrigin checks a URL handed to us by the API (NextPageUri, contentUri) before the bearer
// token goes there, and adds PublisherIdentifier when it lacks one. A relative link is taken
// relative to base (the page it came with), as a browser would.
func (c *Client) sameOrigin(base *url.URL, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("URL from the API %q: %w", raw, err)
	}
	u = base.ResolveReference(u)
	if !strings.EqualFold(u.Scheme, c.root.Scheme) || !strings.EqualFold(u.Hostname(), c.root.Hostname()) ||
		effectivePort(u) != effectivePort(c.root) || u.User != nil {
		return "", fmt.Errorf("URL from the API %q points outside %s://%s: refusing to send the token there", raw, c.root.Scheme, c.root.Host)
	}
	u.Scheme, u.Host = c.root.Scheme, c.root.Host
	// The live service sends next-page links with lower-case query names and without
	// PublisherIdentifier; without it the request would be charged to the quota shared by all
	// publishers. Ours goes in, in its documented spelling, replacing one in another casing;
	// the rest of the query is followed byte for byte as sent.
	if u.Query().Get("PublisherIdentifier") == "" {
		var keep []string
		for _, pair := range strings.Split(u.RawQuery, "&") {
			name, _, _ := strings.Cut(pair, "=")
			if n, err := url.QueryUnescape(name); err == nil {
				name = n
			}
			if pair != "" && !strings.EqualFold(name, "PublisherIdentifier") {
				keep = append(keep, pair)
			}
		}
		u.RawQuery = strings.Join(append(keep, "PublisherIdentifier="+url.QueryEscape(c.pubID)), "&")
	}
	return u.String(), nil
}

// effectivePort is u's port, or its scheme's default when it names none.
func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}

// do sends one API request with retries. handle reads a 2xx answer; a body cut short while
// handle reads it counts as a transient failure and the whole request is tried again, so handle
// must be able to start over.
func (c *Client) do(ctx context.Context, op, method, target string, handle func(*http.Response) error) error {
	renewed := false
	err := c.retry.Do(ctx, func(int) (retry.Verdict, time.Duration, error) {
		sent, retryAfter, err := c.once(ctx, op, method, target, handle)
		if err == nil {
			return retry.Done, 0, nil
		}
		var ae *APIError
		if errors.As(err, &ae) && throttled(ae) {
			if cut, rate := c.pace.throttled(sent); cut {
				c.log.Warn("throttled by the API: slowing down, recovering gradually", "op", op, "requests_per_minute", int(rate))
			}
		}
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized && !renewed {
			// The token may have expired on the server's side before ours: fetch a new one, once.
			renewed = true
			if rerr := c.tokens.Renew(); rerr != nil {
				return retry.Done, 0, rerr
			}
			c.log.Debug("token refused, renewed it", "op", op)
			return retry.AgainNow, 0, err
		}
		if !transient(err) {
			return retry.Done, 0, err
		}
		return retry.Again, retryAfter, err
	}, func(attempt int, wait time.Duration, err error) { c.logRetry(op, attempt, wait, err) })
	var gaveUp *retry.GaveUpError
	if errors.As(err, &gaveUp) && !gaveUp.OverBudget {
		return gaveUp.Err // the tries ran out: the last answer says it all
	}
	return err
}

// once sends the request once. sent is when it left, after its turn in the pace.
func (c *Client) once(ctx context.Context, op, method, target string, handle func(*http.Response) error) (sent time.Time, retryAfter time.Duration, err error) {
	if err := c.pace.wait(ctx); err != nil {
		return time.Time{}, 0, err
	}
	sent = time.Now()
	retryAfter, err = c.send(ctx, op, method, target, handle)
	return sent, retryAfter, err
}

func (c *Client) send(ctx context.Context, op, method, target string, handle func(*http.Response) error) (time.Duration, error) {
	token, err := c.tokens.Token(ctx)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	started := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("%s: %w", op, &transportError{redact(err)})
	}
	defer resp.Body.Close()
	// The URL and status only: the request's headers carry the token.
	c.log.Debug("api answer", "op", op, "method", method, "url", target, "status", resp.StatusCode,
		"wait", time.Since(started).Round(time.Millisecond))
	c.checkSkew(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return retry.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now()), readAPIError(op, resp)
	}
	if err := notJSON(resp); err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	resp.Body = &body{rc: resp.Body}
	if err := handle(resp); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	return 0, nil
}

// notJSON refuses a success answer that declares HTML: a proxy or gateway page sent with status
// 200 instead of the API's JSON. Its start is quoted so the reader can tell what answered.
func notJSON(resp *http.Response) error {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "text/html" {
		return nil
	}
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Errorf("%w: HTTP %d with an HTML page instead of JSON (a proxy or gateway answered?): %s", ErrNotJSON, resp.StatusCode, oneLine(string(excerpt), 120))
}

// ErrNotJSON marks a success answer that is an HTML page. Retrying at once will not help.
var ErrNotJSON = errors.New("not a JSON answer")

// redact drops the query from a *url.Error: it is long and tells the reader nothing new.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// body marks read errors of an answer's body as transport errors: a connection dropped
// mid-body is worth another try, unlike a body that is complete but wrong.
type body struct{ rc io.ReadCloser }

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = &transportError{err}
	}
	return n, err
}

func (b *body) Close() error { return b.rc.Close() }

// skewWarn is how far the API clock may differ from ours before we say so: the API judges
// windows by its clock, the 7-day edge is near, and signed assertions carry nbf/exp.
const skewWarn = 5 * time.Minute

func (c *Client) checkSkew(resp *http.Response) {
	c.skewOnce.Do(func() {
		date, err := http.ParseTime(resp.Header.Get("Date"))
		if err != nil {
			return
		}
		skew := date.Sub(c.now()).Round(time.Second)
		c.skewMu.Lock()
		c.skew = skew
		c.skewMu.Unlock()
		if skew > skewWarn || skew < -skewWarn {
			c.log.Warn("the local clock differs from the API's; windows near the 7-day edge may be refused: sync the clock (NTP)", "skew", skew)
		}
	})
}

// loudRetries is how many retries a client logs as warnings (stderr, cron mail); later ones go
// to the debug log alone, so that an API failing for hundreds of blobs does not flood stderr.
const loudRetries = 5

func (c *Client) logRetry(op string, attempt int, wait time.Duration, err error) {
	n := c.retries.Add(1)
	attrs := []any{"op", op, "attempt", attempt, "wait", wait, "error", err}
	switch {
	case n < loudRetries:
		c.log.Warn("retrying", attrs...)
	case n == loudRetries:
		c.log.Warn("retrying; further retries of this run are logged in debug.log only", attrs...)
	default:
		c.log.Info("retrying", attrs...)
	}
}
