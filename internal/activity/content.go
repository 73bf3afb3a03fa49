package activity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/window"
)

// Content is one blob as the listing describes it. The strings are kept as the API sent them:
// they are copied into every output line.
type Content struct {
	ContentType       string `json:"contentType"`
	ContentID         string `json:"contentId"`
	ContentURI        string `json:"contentUri"`
	ContentCreated    string `json:"contentCreated"`
	ContentExpiration string `json:"contentExpiration"`
}

// UnmarshalJSON reads a listing entry field by field, so that one field of an unexpected JSON
// type fails only its entry (Check reports it) and not the whole page, which would stop the
// listing of the type at the same place run after run. A field that is not a string keeps its
// JSON text (a contentCreated of 1700000000 is then a bad time), except contentUri, which is
// then missing: nothing can be downloaded from it.
func (c *Content) UnmarshalJSON(data []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	get := func(name string) (string, bool) {
		raw, ok := fields[name]
		if !ok {
			for k, v := range fields { // encoding/json's own matching of names ignores case
				if strings.EqualFold(k, name) {
					raw, ok = v, true
					break
				}
			}
		}
		var s string
		switch {
		case !ok || string(raw) == "null":
			return "", true
		case json.Unmarshal(raw, &s) == nil:
			return s, true
		}
		return string(raw), false
	}
	*c = Content{}
	c.ContentType, _ = get("contentType")
	c.ContentID, _ = get("contentId")
	if uri, ok := get("contentUri"); ok {
		c.ContentURI = uri
	}
	c.ContentCreated, _ = get("contentCreated")
	c.ContentExpiration, _ = get("contentExpiration")
	return nil
}

// Created is when the blob became available.
func (c Content) Created() time.Time { t, _ := parseAPITime(c.ContentCreated); return t }

// Expiration is when the blob stops being fetchable: as listed, or 7 days after it became
// available when the listing left it out.
func (c Content) Expiration() time.Time {
	if t, err := parseAPITime(c.ContentExpiration); err == nil {
		return t
	}
	if created := c.Created(); !created.IsZero() {
		return created.Add(retention)
	}
	return time.Time{}
}

// retention is how long Microsoft keeps content after it became available.
const retention = 7 * 24 * time.Hour

// Fault is what is wrong with a listing entry, as Check finds it.
type Fault int

// The faults of a listing entry, the worst first: an entry has the first that applies.
const (
	EntryOK        Fault = iota
	EntryOtherType       // of another content type: never to be written into this type's file
	EntryNoID            // without contentId: cannot be told apart from other blobs or kept pending
	EntryNoURI           // without contentUri: cannot be downloaded
	EntryBadTime         // contentCreated or contentExpiration unreadable: only its metadata is odd
)

// Check says what is wrong with a listing entry of contentType, and why; EntryOK and nil when
// nothing is. List passes every entry on, whatever Check would say: one bad entry must not
// keep a listing's other entries, and the windows after it, from being fetched.
func (c Content) Check(contentType string) (Fault, error) {
	switch {
	case c.ContentType != "" && !strings.EqualFold(c.ContentType, contentType):
		return EntryOtherType, fmt.Errorf("listing entry %s of %s has contentType %q", c.ContentID, contentType, c.ContentType)
	case c.ContentID == "":
		return EntryNoID, fmt.Errorf("listing entry without contentId (contentUri %q, contentCreated %q)", c.ContentURI, c.ContentCreated)
	case c.ContentURI == "":
		return EntryNoURI, fmt.Errorf("listing entry %s without contentUri: it cannot be downloaded", c.ContentID)
	}
	if _, err := parseAPITime(c.ContentCreated); err != nil {
		return EntryBadTime, fmt.Errorf("listing entry %s: contentCreated %q: %w", c.ContentID, c.ContentCreated, err)
	}
	if c.ContentExpiration != "" {
		if _, err := parseAPITime(c.ContentExpiration); err != nil {
			return EntryBadTime, fmt.Errorf("listing entry %s: contentExpiration %q: %w", c.ContentID, c.ContentExpiration, err)
		}
	}
	return EntryOK, nil
}

// parseAPITime reads the API's timestamps ("2015-05-23T17:35:00.000Z"; zone and fraction optional).
func parseAPITime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not a timestamp the API uses")
}

// Limits against answers no real API gives: they end a listing instead of looping or filling memory.
// maxPages is a variable only so that a test can reach it quickly.
var maxPages = 10000

// maxRestarts bounds how often one window's listing starts over after a stale page token.
const maxRestarts = 3

const maxPageBytes = 64 << 20

// DefaultMaxBlobBytes bounds one blob download. Real blobs are at most tens of MB; a body larger
// than this is a broken or hostile server, and reading it would fill the disk spool.
const DefaultMaxBlobBytes = 1 << 30

// List lists the blobs of contentType that became available in w, page by page, calling fn
// with each page. When the API invalidates a page token (AF20031) the listing starts over, so
// fn may see an entry twice: callers dedupe by contentId. Entries are passed on as listed,
// bad ones too: callers Check each.
func (c *Client) List(ctx context.Context, contentType string, w window.Window, fn func([]Content) error) error {
	op := fmt.Sprintf("list %s %s", contentType, w)
	first := c.endpoint("subscriptions/content", url.Values{
		"contentType": {contentType},
		"startTime":   {window.Format(w.Start)},
		"endTime":     {window.Format(w.End)},
	})
	seen := map[string]bool{}
	restarts := 0
	next := first
	for page := 1; next != ""; page++ {
		if page > maxPages {
			return fmt.Errorf("%s: more than %d pages: giving up", op, maxPages)
		}
		if seen[next] {
			return fmt.Errorf("%s: the API sent the same next page twice (%s): giving up", op, next)
		}
		seen[next] = true
		var entries []Content
		var nextURI string
		err := c.do(ctx, op, http.MethodGet, next, func(resp *http.Response) error {
			entries, nextURI = nil, ""
			if err := decodeListing(resp.Body, &entries); err != nil {
				return err
			}
			nextURI = nextPage(resp.Header)
			return nil
		})
		if HasCode(err, CodeStalePage) && next != first && restarts < maxRestarts {
			restarts++
			c.log.Warn("next-page token expired, listing the window again", "op", op)
			clear(seen)
			next = first
			continue
		}
		if err != nil {
			return err
		}
		if err := fn(entries); err != nil {
			return err
		}
		next = ""
		if nextURI != "" {
			page, err := url.Parse(next)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			if next, err = c.sameOrigin(page, nextURI); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
		}
	}
	return nil
}

// nextPage finds the paging link of a listing answer. Microsoft documents the header as
// NextPageUri, shows NextPageUrl in an example, and over HTTP/2 every header name arrives in
// lower case: any casing of either name is taken, NextPageUri first.
func nextPage(h http.Header) string {
	for _, name := range []string{"NextPageUri", "NextPageUrl"} {
		if v := h.Get(name); v != "" {
			return v
		}
		// Get finds the canonical form; a map filled by hand may hold another casing.
		for k, vs := range h {
			if strings.EqualFold(k, name) && len(vs) > 0 && vs[0] != "" {
				return vs[0]
			}
		}
	}
	return ""
}

// ErrTooLarge marks an answer bigger than any real one. Retrying will not help.
var ErrTooLarge = errors.New("answer too large")

// capped fails a read past its limit, so a body without end cannot fill memory or disk.
type capped struct {
	r     io.Reader
	limit int64
	n     int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.n >= c.limit {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, err := c.r.Read(one[:]); n == 0 {
			return 0, err
		}
		return 0, fmt.Errorf("%w: blob body larger than %d bytes", ErrTooLarge, c.limit)
	}
	if rem := c.limit - c.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func decodeListing(r io.Reader, entries *[]Content) error {
	return decodeBounded(r, entries, maxPageBytes, "listing page", "a JSON array of content entries")
}

// Download fetches one blob and hands its body to fn as a stream. If the connection drops
// mid-body the download is retried and fn is called again from the start: fn must discard
// what it got from an earlier call.
func (c *Client) Download(ctx context.Context, content Content, fn func(io.Reader) error) error {
	target, err := c.sameOrigin(c.root, content.ContentURI)
	if err != nil {
		return fmt.Errorf("download %s: %w", content.ContentID, err)
	}
	return c.do(ctx, "download "+content.ContentID, http.MethodGet, target, func(resp *http.Response) error {
		return fn(&capped{r: resp.Body, limit: c.maxBlob})
	})
}
