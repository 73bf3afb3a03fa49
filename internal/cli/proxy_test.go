package cli_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// connectProxy is a small HTTP CONNECT proxy on loopback that counts the tunnels it opens.
type connectProxy struct {
	ln      net.Listener
	refuse  bool
	resolve map[string]string // host:port → address to dial instead (names that resolve nowhere)
	mu      sync.Mutex
	tunnels []string // CONNECT targets, one per tunnel
	wg      sync.WaitGroup
}

func startProxy(t *testing.T, refuse bool) *connectProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &connectProxy{ln: ln, refuse: refuse}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

// Resolve makes the proxy dial addr for CONNECT requests to hostport.
func (p *connectProxy) Resolve(hostport, addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resolve == nil {
		p.resolve = map[string]string{}
	}
	p.resolve[hostport] = addr
}

func (p *connectProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *connectProxy) Tunnels() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.tunnels...)
}

func (p *connectProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c)
		}()
	}
}

func (p *connectProxy) handle(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect || p.refuse {
		io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
		return
	}
	target := req.Host
	p.mu.Lock()
	if addr, ok := p.resolve[target]; ok {
		target = addr
	}
	p.mu.Unlock()
	up, err := net.Dial("tcp", target)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer up.Close()
	p.mu.Lock()
	p.tunnels = append(p.tunnels, req.Host)
	p.mu.Unlock()
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, br); up.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	<-done
}

// The proxy setting sends Azure AD and the API through the proxy. Go never proxies loopback
// from HTTPS_PROXY, so the test uses the setting, which overrides the environment the same way.
// Keep-alives are off in the client, so every request needs a tunnel of its own: the tunnel
// count then proves that each request the emulator saw (discovery, token, API) came through
// the proxy.
func TestProxySetting(t *testing.T) {
	tests := []struct {
		name   string
		refuse bool
		code   int
	}{
		{"through the proxy", false, 0},
		// A refusing proxy is not tested here: the token request's retries (real backoff, about
		// 8 s) would make it the slowest test of the package.
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, tt.refuse)
			h := newHarness(t, setup{types: []string{"Audit.Exchange"}, api: "proxy = " + p.URL()})
			hc := h.srv.Client()
			hc.Transport.(*http.Transport).DisableKeepAlives = true
			code, stdout, stderr := h.runAppHTTP(hc, nil, "subscriptions", "list")
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			reqs := h.srv.Requests()
			if tt.refuse {
				if len(reqs) != 0 || !strings.Contains(stderr, "Forbidden") {
					t.Errorf("refused proxy: %d requests reached the emulator; stderr %q", len(reqs), stderr)
				}
				return
			}
			kinds := map[string]int{}
			for _, r := range reqs {
				kinds[r.Kind]++
			}
			if kinds["discovery"] == 0 || kinds["token"] == 0 || kinds["list"] == 0 {
				t.Errorf("emulator saw %v, want discovery, token and API requests", kinds)
			}
			tunnels := p.Tunnels()
			if len(tunnels) != len(reqs) {
				t.Errorf("%d tunnels for %d requests (%v): some went around the proxy", len(tunnels), len(reqs), kinds)
			}
			for _, target := range tunnels {
				if "https://"+target != h.srv.URL {
					t.Errorf("tunnel to %s, want %s", target, h.srv.URL)
				}
			}
		})
	}
}
