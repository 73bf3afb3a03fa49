package auth

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// callErr builds the error MSAL returns for a non-2xx answer.
func callErr(status int, header http.Header, body string) error {
	return fmt.Errorf("ResolveEndpoints(): %w", msalerrors.CallErr{
		Resp: &http.Response{StatusCode: status, Header: header},
		Err:  fmt.Errorf("http call(https://login.example/t/oauth2/v2.0/token)(POST) error: reply status code was %d:\n%s", status, body),
	})
}

func TestRefusal(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		code     int
		desc     string
		hintPart string
	}{
		{
			name: "json body",
			err:  callErr(401, nil, `{"error":"invalid_client","error_description":"AADSTS700027: Client assertion failed.\r\nTrace ID: 1\r\nCorrelation ID: 2","error_codes":[700027]}`),
			code: 700027, desc: "AADSTS700027: Client assertion failed. Trace ID: 1 Correlation ID: 2", hintPart: "not registered",
		},
		{
			name: "code only in the text",
			err:  callErr(400, nil, `<html>AADSTS90002: Tenant 'x' not found.</html>`),
			code: 90002, hintPart: "authorityHostUrl",
		},
		{name: "expired assertion", err: callErr(400, nil, `{"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range.","error_codes":[700024]}`), code: 700024, hintPart: "clock"},
		{name: "resource", err: callErr(400, nil, `{"error":"invalid_resource","error_description":"AADSTS500011: The resource principal named https://manage.office.com was not found","error_codes":[500011]}`), code: 500011, hintPart: "resource"},
		{name: "secret", err: callErr(401, nil, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}`), code: 7000215, hintPart: "secret"},
		{name: "expired secret", err: callErr(401, nil, `{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys are expired.","error_codes":[7000222]}`), code: 7000222, hintPart: "expired"},
		{name: "unknown code", err: callErr(400, nil, `{"error":"x","error_description":"AADSTS1: odd","error_codes":[1]}`), code: 1, desc: "AADSTS1: odd"},
		{name: "not azure ad", err: callErr(404, nil, "page not found"), code: 0, hintPart: "authorityHostUrl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := refusal(tt.err)
			if e.Code != tt.code || !strings.Contains(e.Hint, tt.hintPart) {
				t.Errorf("code %d hint %q", e.Code, e.Hint)
			}
			if tt.desc != "" && e.Description != tt.desc {
				t.Errorf("description %q, want %q", e.Description, tt.desc)
			}
			if !errors.Is(e, tt.err) {
				t.Error("does not unwrap to the MSAL error")
			}
		})
	}
}

func TestTransient(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		err   error
		retry bool
		after time.Duration
	}{
		{"503", callErr(503, nil, "{}"), true, 0},
		{"502 html", callErr(502, nil, "<html>bad gateway</html>"), true, 0},
		{"429 with seconds", callErr(429, http.Header{"Retry-After": {"7"}}, ""), true, 7 * time.Second},
		{"503 with date", callErr(503, http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, ""), true, 90 * time.Second},
		{"408", callErr(408, nil, ""), true, 0},
		{"400 refusal", callErr(400, nil, `{"error":"invalid_client"}`), false, 0},
		{"401 refusal", callErr(401, nil, `{"error":"invalid_client"}`), false, 0},
		{"connection refused", &url.Error{Op: "Post", URL: "https://x", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, true, 0},
		{"connection dropped", fmt.Errorf("server response error:\n %w", &url.Error{Op: "Post", URL: "https://x", Err: io.EOF}), true, 0},
		{"unknown host", &url.Error{Op: "Post", URL: "https://x", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}, false, 0},
		{"untrusted certificate", &url.Error{Op: "Post", URL: "https://x", Err: x509.UnknownAuthorityError{}}, false, 0},
		{"other", errors.New("bug"), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			retry, after := transient(tt.err, now)
			if retry != tt.retry || after != tt.after {
				t.Errorf("got %v %v, want %v %v", retry, after, tt.retry, tt.after)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name, v string
		want    time.Duration
	}{
		{"absent", "", 0},
		{"seconds", "120", 2 * time.Minute},
		{"spaces", " 3 ", 3 * time.Second},
		{"zero", "0", 0},
		{"negative", "-5", 0},
		{"huge", "99999999999999999", 24 * time.Hour},
		{"date", now.Add(time.Minute).Format(http.TimeFormat), time.Minute},
		{"date in the past", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"garbage", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryAfter(tt.v, now); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "1", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "9999999999999999999999"} {
		f.Add(s)
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, v string) {
		if d := retryAfter(v, now); d < 0 {
			t.Fatalf("%q gave %v", v, d)
		}
	})
}

func TestRetryWait(t *testing.T) {
	p := retryPolicy{attempts: 5, base: 100 * time.Millisecond, max: time.Second}
	tests := []struct {
		name    string
		attempt int
		after   time.Duration
		lo, hi  time.Duration
	}{
		{"first", 1, 0, 0, 100 * time.Millisecond},
		{"third", 3, 0, 0, 400 * time.Millisecond},
		{"capped", 10, 0, 0, time.Second},
		{"far beyond", 200, 0, 0, time.Second},
		{"retry-after honoured", 1, 700 * time.Millisecond, 700 * time.Millisecond, 700 * time.Millisecond},
		{"retry-after capped", 1, time.Hour, time.Second, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var spread bool
			first := p.wait(tt.attempt, tt.after)
			for range 200 {
				d := p.wait(tt.attempt, tt.after)
				if d < tt.lo || d > tt.hi {
					t.Fatalf("wait %v outside [%v, %v]", d, tt.lo, tt.hi)
				}
				spread = spread || d != first
			}
			if tt.after == 0 && !spread {
				t.Error("no jitter")
			}
		})
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
	if err := sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
}
