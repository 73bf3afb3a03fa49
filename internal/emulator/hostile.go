package emulator

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
)

// Hostile modes: answers no healthy API gives, so that a client's defences are tested against
// a real server over real TLS. They are off until set, and each can be cleared again, so a test
// can check that the next run recovers.

// Answer replaces the emulator's own answer to a request.
type Answer struct {
	Status      int               // HTTP status; 0 = 200
	ContentType string            // "" = application/json; charset=utf-8
	Header      map[string]string // extra headers, e.g. Location for a redirect
	Body        string            // sent first
	Filler      string            // then sent again and again until the body holds FillBytes bytes
	FillBytes   int64             // total body size with Filler; streamed, never held in memory
	Times       int               // answer this many times, then behave again; 0 = until cleared
}

// Paging bends the NextPageUri header of a content type's listing.
type Paging struct {
	// Host, e.g. "https://localhost:1234" or "http://127.0.0.1:1234", replaces the emulator's
	// scheme://host[:port] in NextPageUri: a next page on another origin.
	Host string
	// Loop makes every page name itself as the next page.
	Loop bool
	// Endless makes every page name one more page (each URL distinct), even after the last entry.
	Endless bool
	// Header sends the link under this header name, exactly as written (e.g. "NextPageUrl", as
	// in Microsoft's own example, or "nextpageuri").
	Header string
}

// SetBlobAnswer makes downloads of the blob get a instead of its records; nil restores them.
func (e *Emulator) SetBlobAnswer(contentID string, a *Answer) {
	e.setAnswer(e.blobAnswers, contentID, a)
}

// SetListingAnswer makes every listing page of the content type get a; nil restores them.
func (e *Emulator) SetListingAnswer(contentType string, a *Answer) {
	e.setAnswer(e.listAnswers, contentType, a)
}

func (e *Emulator) setAnswer(answers map[string]*Answer, key string, a *Answer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a == nil {
		delete(answers, key)
		return
	}
	cp := *a
	answers[key] = &cp
}

// SetPaging bends the NextPageUri of the content type's listings; the zero Paging restores it.
func (e *Emulator) SetPaging(contentType string, p Paging) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p == (Paging{}) {
		delete(e.paging, contentType)
		return
	}
	e.paging[contentType] = p
}

// EditListing changes the blob's entry in listings: each field is set to its value (any JSON
// value), or removed when the value is nil. A nil map restores the entry.
func (e *Emulator) EditListing(contentID string, fields map[string]any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if fields == nil {
		delete(e.listEdits, contentID)
		return
	}
	cp := make(map[string]any, len(fields))
	for k, v := range fields {
		cp[k] = v
	}
	e.listEdits[contentID] = cp
}

// IssuedTokens returns every access token the token endpoint handed out, so a test can look
// for them where they must never appear (logs, errors).
func (e *Emulator) IssuedTokens() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.issued...)
}

// Assertions returns every client assertion posted to the token endpoint.
func (e *Emulator) Assertions() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.assertions...)
}

// takeAnswer returns the override for key, counting down its Times.
func (e *Emulator) takeAnswer(m map[string]*Answer, key string) *Answer {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := m[key]
	if a == nil {
		return nil
	}
	cp := *a
	if a.Times > 0 {
		if a.Times--; a.Times == 0 {
			delete(m, key)
		}
	}
	return &cp
}

// write sends the answer, streaming the filler so that a huge body costs no memory here.
func (a *Answer) write(w http.ResponseWriter) {
	ct := a.ContentType
	if ct == "" {
		ct = "application/json; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	for k, v := range a.Header {
		w.Header().Set(k, v)
	}
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(a.Body); err != nil {
		return
	}
	if a.Filler != "" {
		for sent := int64(len(a.Body)); sent < a.FillBytes; sent += int64(len(a.Filler)) {
			if _, err := bw.WriteString(a.Filler); err != nil {
				return // the client stopped reading: that is what a bounded reader does
			}
		}
	}
	_ = bw.Flush()
}

// nextPageURI applies the paging mode to the NextPageUri the listing would send (next, "" when
// the listing is complete). self is the URL of the page being answered; endlessPage is one
// more (empty) page.
func (p Paging) nextPageURI(next, self, base, endlessPage string) string {
	switch {
	case p.Loop:
		next = self
	case p.Endless && next == "":
		next = endlessPage
	}
	if p.Host != "" && next != "" {
		next = strings.TrimSuffix(p.Host, "/") + strings.TrimPrefix(next, base)
	}
	return next
}

// endlessHop is the query parameter that makes each endless page's URL distinct.
const endlessHop = "hop"

func nextHop(s string) string {
	n, _ := strconv.Atoi(s)
	return strconv.Itoa(n + 1)
}
