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
	ca, err := issue(&x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "o365 emulator CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}, nil)
	if err != nil {
		return nil, leaf, nil, err
	}
	srv, err := issue(&x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", ProxiedHost},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
	}, ca)
	if err != nil {
		return nil, leaf, nil, err
	}
	pool = x509.NewCertPool()
	pool.AddCert(ca.cert)
	leaf = tls.Certificate{Certificate: [][]byte{srv.cert.Raw, ca.cert.Raw}, PrivateKey: srv.key}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), leaf, pool, nil
}

// issued is a certificate and its key.
type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// issue makes a key and a certificate for it from tmpl, signed by parent (nil: self-signed).
func issue(tmpl *x509.Certificate, parent *issued) (*issued, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	parentCert, parentKey := tmpl, key
	if parent != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, parentKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &issued{cert: cert, key: key}, nil
}
