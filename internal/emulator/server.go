package emulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is an Emulator listening with TLS.
type Server struct {
	*Emulator
	URL string // "https://127.0.0.1:PORT": authority host, resource and API host all at once

	srv    *http.Server
	ln     net.Listener
	caPEM  []byte
	pool   *x509.CertPool
	done   chan struct{}
	mu     sync.Mutex
	transp []*http.Transport
}

// Start serves a new emulator on 127.0.0.1 at a free port, with a fresh
// self-signed CA whose leaf names 127.0.0.1, ::1 and localhost.
func Start(cfg Config) (*Server, error) {
	return StartTLS(cfg, "127.0.0.1:0")
}

// StartTLS is Start on a given address.
func StartTLS(cfg Config, addr string) (*Server, error) {
	caPEM, leaf, pool, err := newServerPKI()
	if err != nil {
		return nil, fmt.Errorf("emulator pki: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("emulator listen: %w", err)
	}
	s := &Server{
		Emulator: New(cfg),
		URL:      "https://" + ln.Addr().String(),
		ln:       ln,
		caPEM:    caPEM,
		pool:     pool,
		done:     make(chan struct{}),
	}
	s.SetURL(s.URL)
	// HTTP/1.1 only unless asked: dropped-connection faults hijack the connection, which
	// HTTP/2 cannot (there a drop resets the stream instead).
	protos := new(http.Protocols)
	protos.SetHTTP1(true)
	nextProtos := []string{"http/1.1"}
	if cfg.HTTP2 {
		protos.SetHTTP2(true)
		nextProtos = []string{"h2", "http/1.1"}
	}
	s.srv = &http.Server{
		Protocols: protos,
		Handler:   s.Emulator,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{leaf},
			MinVersion:   tls.VersionTLS12,
			NextProtos:   nextProtos,
		},
		ReadHeaderTimeout: 10 * time.Second,
		// Handshake noise from clients that do not trust the CA is expected.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(tls.NewListener(ln, s.srv.TLSConfig))
	}()
	return s, nil
}

// ProxiedHost is a name the emulator's certificate also covers. It resolves nowhere: a client
// reaches it only through a proxy that maps it to the emulator, which is how a test proves the
// client honours HTTPS_PROXY (Go never proxies loopback addresses or localhost).
const ProxiedHost = "o365.emulator.test"

// UseHost makes the emulator name itself host (same port) in the URLs it hands out, and in
// URL, Resource and APIRoot.
func (s *Server) UseHost(host string) {
	_, port, _ := net.SplitHostPort(s.ln.Addr().String())
	s.URL = "https://" + net.JoinHostPort(host, port)
	s.SetURL(s.URL)
}

// Close stops the server and its clients' idle connections.
func (s *Server) Close() {
	_ = s.srv.Close()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.transp {
		t.CloseIdleConnections()
	}
}

// Client returns an HTTP client that trusts only the emulator's CA.
func (s *Server) Client() *http.Client {
	t := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	s.mu.Lock()
	s.transp = append(s.transp, t)
	s.mu.Unlock()
	return &http.Client{Transport: t}
}

// CAPEM returns the CA certificate in PEM, to hand a child process through
// SSL_CERT_FILE.
func (s *Server) CAPEM() []byte { return append([]byte(nil), s.caPEM...) }

// APIRoot is the Activity API root for the tenant.
func (s *Server) APIRoot() string {
	return s.URL + "/api/v1.0/" + s.cfg.TenantID + "/activity/feed"
}

// Resource is the token resource (scope Resource()+"/.default", token aud).
func (s *Server) Resource() string { return s.URL }

// newServerPKI makes a CA and a leaf for loopback names. ECDSA keeps it fast.
func newServerPKI() (caPEM []byte, leaf tls.Certificate, pool *x509.CertPool, err error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, leaf, nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "o365 emulator CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, leaf, nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, leaf, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, leaf, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", ProxiedHost},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, leaf, nil, err
	}
	pool = x509.NewCertPool()
	pool.AddCert(caCert)
	leaf = tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), leaf, pool, nil
}
