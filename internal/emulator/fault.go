package emulator

import (
	"io"
	"net/http"
	"time"
)

type fault int

const (
	noFault fault = iota
	faultDrop
	faultHTML
	faultServer
	fault429
	fault403
)

func (e *Emulator) drawTokenFault() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.faults.TokenError <= 0 {
		return false
	}
	if e.rng.Float64() < e.faults.TokenError {
		e.stats.Faults++
		return true
	}
	return false
}

// drawAPIFault decides the fate of one API request: one draw against the
// cumulative fractions, so each fraction is hit at its own rate.
func (e *Emulator) drawAPIFault() fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.faults
	if f.QuotaPerMinute > 0 {
		now := e.now()
		keep := e.apiTimes[:0]
		for _, t := range e.apiTimes {
			if now.Sub(t) < time.Minute {
				keep = append(keep, t)
			}
		}
		e.apiTimes = keep
		if len(e.apiTimes) >= f.QuotaPerMinute {
			e.stats.Throttled++
			return fault403
		}
		e.apiTimes = append(e.apiTimes, now)
	}
	if f.Drop+f.HTMLError+f.ServerError+f.Throttle429+f.Throttle403 <= 0 {
		return noFault
	}
	u := e.rng.Float64()
	for _, c := range []struct {
		p float64
		f fault
	}{{f.Drop, faultDrop}, {f.HTMLError, faultHTML}, {f.ServerError, faultServer}, {f.Throttle429, fault429}, {f.Throttle403, fault403}} {
		if u < c.p {
			if c.f == fault429 || c.f == fault403 {
				e.stats.Throttled++
			} else {
				e.stats.Faults++
			}
			return c.f
		}
		u -= c.p
	}
	return noFault
}

// answerFault writes the answer for an injected fault other than a partial
// blob drop.
func (e *Emulator) answerFault(w http.ResponseWriter, f fault, method string) {
	switch f {
	case faultDrop:
		dropConn(w, false)
	case faultHTML:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<!DOCTYPE html>\r\n<html><head><title>502 - Web server received an invalid response while acting as a gateway or proxy server.</title></head>\r\n<body><div id=\"header\"><h1>Server Error</h1></div>\r\n<div id=\"content\"><fieldset><h2>502 - Web server received an invalid response while acting as a gateway or proxy server.</h2>\r\n<h3>There is a problem with the page you are looking for, and it cannot be displayed.</h3></fieldset></div></body></html>\r\n")
	case faultServer:
		writeAPIError(w, http.StatusServiceUnavailable, "AF50000", "An internal error occurred. Retry the request.")
	case fault429:
		if !e.cfg.LiveQuirks {
			w.Header().Set("Retry-After", "1")
		}
		writeAPIError(w, http.StatusTooManyRequests, "AF429", "Too many requests. Method="+method+", PublisherId="+e.cfg.TenantID)
	case fault403:
		writeAPIError(w, http.StatusForbidden, "AF429", "Too many requests. Method="+method+", PublisherId="+e.cfg.TenantID)
	}
}

// dropConn closes the connection without finishing the answer. With
// midBody, what was already written is flushed first, so the body is cut
// short mid-stream; else nothing at all is answered.
func dropConn(w http.ResponseWriter, midBody bool) {
	if rec, ok := w.(*recorder); ok {
		rec.logNow()
	}
	rc := http.NewResponseController(w)
	if midBody {
		_ = rc.Flush()
	}
	conn, buf, err := rc.Hijack()
	if err != nil {
		// HTTP/2 or a recorder: aborting the handler resets the stream.
		panic(http.ErrAbortHandler)
	}
	_ = buf.Flush()
	_ = conn.Close()
}
