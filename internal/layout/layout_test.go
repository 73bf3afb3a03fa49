package layout

import (
	"slices"
	"testing"
)

// The names are what users' forwarders, logrotate rules and backups know: a change here is a
// change of the product.
func TestNames(t *testing.T) {
	if got := Output("Audit.Exchange"); got != "Audit.Exchange.log" {
		t.Errorf("Output = %q", got)
	}
	want := []string{"o365logfetch-state.json", "o365logfetch.lock", "o365logfetch-records.idx", "o365logfetch-blobs.idx"}
	if got := StateFiles(); !slices.Equal(got, want) {
		t.Errorf("StateFiles = %q, want %q", got, want)
	}
	if DebugLog != "debug.log" || LegacyStateFile != "time.log" {
		t.Errorf("DebugLog %q, LegacyStateFile %q", DebugLog, LegacyStateFile)
	}
}
