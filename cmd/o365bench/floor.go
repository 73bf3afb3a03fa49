//go:build unix

package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/o365logfetch/o365logfetch/internal/auth"
	"github.com/o365logfetch/o365logfetch/internal/config"
)

// floor is the least any collector must do for the same data: the same token, the same
// listing and the same downloads with the same concurrency and TLS, bodies thrown away. It
// reads the tool's own config file so both see exactly the same inputs.
func floor(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "o365_logs.cfg to read")
	start := fs.String("start", "", "window start, YYYY-MM-DDTHH:MM:SS UTC")
	end := fs.String("end", "", "window end, YYYY-MM-DDTHH:MM:SS UTC")
	proto := fs.String("proto", "auto", "auto (Go's default: HTTP/2 when offered), h1 (HTTP/1.1, a connection per worker), h2 (one connection) or h2xN (N HTTP/2 connections, requests spread over them)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, os.Getenv)
	if err != nil {
		return err
	}
	hc, err := floorClient(*proto, cfg.Workers)
	if err != nil {
		return err
	}
	tokens, err := auth.New(auth.Settings{
		AuthorityHost: cfg.AuthorityHost, Tenant: cfg.Tenant, ClientID: cfg.ClientID, Resource: cfg.Resource,
		PrivateKeyFile: cfg.PrivateKeyFile, CertificateFile: cfg.CertificateFile, Thumbprint: cfg.Thumbprint,
	}, hc, time.Now)
	if err != nil {
		return err
	}
	ctx := context.Background()
	get := func(u string) (*http.Response, error) {
		tok, err := tokens.Token(ctx)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		return resp, nil
	}

	pool := &errgroup.Group{}
	pool.SetLimit(cfg.Workers)
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	var lists sync.WaitGroup
	for _, ct := range cfg.ContentTypes {
		lists.Go(func() {
			q := url.Values{"contentType": {ct}, "startTime": {*start}, "endTime": {*end}, "PublisherIdentifier": {cfg.PublisherID}}
			next := cfg.APIRoot + "/subscriptions/content?" + q.Encode()
			for next != "" {
				resp, err := get(next)
				if err != nil {
					fail(err)
					return
				}
				var page []struct {
					ContentURI string `json:"contentUri"`
				}
				err = json.NewDecoder(resp.Body).Decode(&page)
				resp.Body.Close()
				if err != nil {
					fail(err)
					return
				}
				next = resp.Header.Get("NextPageUri")
				for _, c := range page {
					pool.Go(func() error {
						resp, err := get(c.ContentURI + "?PublisherIdentifier=" + url.QueryEscape(cfg.PublisherID))
						if err != nil {
							fail(err)
							return nil
						}
						defer resp.Body.Close()
						if _, err := io.Copy(io.Discard, resp.Body); err != nil {
							fail(err)
						}
						return nil
					})
				}
			}
		})
	}
	lists.Wait()
	_ = pool.Wait()
	return firstErr
}

// floorClient is an HTTP client verifying TLS against the system roots (SSL_CERT_FILE) that
// speaks the given protocol; see the -proto flag.
func floorClient(proto string, workers int) (*http.Client, error) {
	transport := func(h1, h2 bool) *http.Transport {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		tr.MaxIdleConnsPerHost = workers + 4
		if h1 || h2 {
			tr.Protocols = new(http.Protocols)
			tr.Protocols.SetHTTP1(h1)
			tr.Protocols.SetHTTP2(h2)
		}
		return tr
	}
	switch proto {
	case "auto":
		return &http.Client{Transport: transport(false, false)}, nil
	case "h1":
		return &http.Client{Transport: transport(true, false)}, nil
	case "h2":
		return &http.Client{Transport: transport(false, true)}, nil
	}
	var n int
	if _, err := fmt.Sscanf(proto, "h2x%d", &n); err != nil || n < 1 {
		return nil, fmt.Errorf("-proto %q: want auto, h1, h2 or h2xN", proto)
	}
	rr := &roundRobin{}
	for range n {
		rr.rts = append(rr.rts, transport(false, true))
	}
	return &http.Client{Transport: rr}, nil
}

// roundRobin spreads requests over several transports, each with its own connection.
type roundRobin struct {
	rts  []http.RoundTripper
	next atomic.Uint64
}

func (r *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	return r.rts[(r.next.Add(1)-1)%uint64(len(r.rts))].RoundTrip(req)
}
