package emulator

import (
	"fmt"
	"path/filepath"
	"strings"
)

// ClientConfig describes an o365_logs.cfg that points o365logfetch at a Server: the one
// template of the demo program, the benchmark and the tests.
type ClientConfig struct {
	Dir        string   // the tool's output, debug log and state go to Dir/out, Dir/debug and Dir/state
	KeyFile    string   // privateKeyFile: the app's key (and certificate) in PEM
	Thumbprint string   // the certificate's thumbprint; "" writes none
	Types      []string // [ContentTypes]; nil: all of ContentTypes
	AutoStart  bool     // autoStartSubscriptions
	API        string   // more [API_SETTINGS] lines
	Fetch      string   // [FETCH] lines; "" writes no [FETCH] section
}

// ClientConfig renders c for s, in the format of the previous tool (%(key)s interpolation
// included).
func (s *Server) ClientConfig(c ClientConfig) string {
	ec := s.Config()
	var b strings.Builder
	fmt.Fprintf(&b, "[API_SETTINGS]\n")
	fmt.Fprintf(&b, "tenant = %s\n", ec.TenantDomain)
	fmt.Fprintf(&b, "tenantId = %s\n", ec.TenantID)
	fmt.Fprintf(&b, "clientId = %s\n", ec.ClientID)
	fmt.Fprintf(&b, "authorityHostUrl = %s\n", s.URL)
	fmt.Fprintf(&b, "resource = %s\n", s.Resource())
	if c.Thumbprint != "" {
		fmt.Fprintf(&b, "thumbprint = %s\n", c.Thumbprint)
	}
	fmt.Fprintf(&b, "privateKeyFile = %s\n", c.KeyFile)
	fmt.Fprintf(&b, "activityApiRoot = %%(resource)s/api/v1.0/%%(tenantId)s/activity/feed\n")
	if c.AutoStart {
		fmt.Fprintf(&b, "autoStartSubscriptions = True\n")
	}
	if c.API != "" {
		fmt.Fprintf(&b, "%s\n", strings.TrimRight(c.API, "\n"))
	}
	fmt.Fprintf(&b, "\n[ContentTypes]\n")
	types := c.Types
	if types == nil {
		types = ContentTypes
	}
	for i, ct := range types {
		fmt.Fprintf(&b, "type%d = %s\n", i, ct)
	}
	fmt.Fprintf(&b, "\n[LOGGING]\n")
	fmt.Fprintf(&b, "baseLogLocation = %s\n", filepath.Join(c.Dir, "out"))
	fmt.Fprintf(&b, "debugLogLocation = %s\n", filepath.Join(c.Dir, "debug"))
	fmt.Fprintf(&b, "timeKeeperLocation = %s\n", filepath.Join(c.Dir, "state"))
	if c.Fetch != "" {
		fmt.Fprintf(&b, "\n[FETCH]\n%s\n", strings.TrimSpace(c.Fetch))
	}
	return b.String()
}
