package cli

import (
	"io"
	"net/http"
	"testing"

	"github.com/o365logfetch/o365logfetch/internal/emulator"
)

// The default client speaks HTTP/1.1 to a server that offers HTTP/2 too, over one connection
// per request in flight, unless GODEBUG=http2client=1 asks for HTTP/2.
func TestDefaultClientProtocol(t *testing.T) {
	srv, err := emulator.Start(emulator.Config{HTTP2: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	for _, tt := range []struct {
		env  []string
		want int
	}{
		{nil, 1},
		{[]string{"GODEBUG=http2client=0"}, 1},
		{[]string{"GODEBUG=gctrace=0,http2client=1"}, 2},
		{[]string{"GODEBUG=http2client=1,http2client=0"}, 1},
	} {
		hc := defaultHTTPClient(4, http2Allowed(tt.env))
		tr := hc.Transport.(*http.Transport)
		tr.TLSClientConfig.RootCAs = roots // the system roots do not know the emulator's CA
		if tr.TLSClientConfig.MinVersion == 0 || tr.Proxy == nil || tr.ResponseHeaderTimeout == 0 {
			t.Errorf("%v: TLS minimum, proxy or header timeout lost", tt.env)
		}
		resp, err := hc.Get(srv.URL + "/common/discovery/instance")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != tt.want {
			t.Errorf("env %v: HTTP/%d, want HTTP/%d", tt.env, resp.ProtoMajor, tt.want)
		}
		tr.CloseIdleConnections()
	}
}
