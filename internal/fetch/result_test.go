package fetch

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Blob failures are grouped by cause with the blob's own id and URI taken out of the message;
// the list stays bounded however many causes there are.
func TestProblemsAreGroupedAndBounded(t *testing.T) {
	tr := &problems{}
	tr.fail(errors.New("subscription is disabled"))
	for i := range 300 {
		id := fmt.Sprintf("blob-%03d", i)
		tr.failBlob(id, "https://api.example/"+id, fmt.Errorf("download %s from https://api.example/%s: HTTP 500", id, id))
	}
	tr.failBlob("lone", "", errors.New("record 3 is larger than 65536 bytes"))
	for i := range 20 {
		tr.failBlob(fmt.Sprintf("odd-%d", i), "", fmt.Errorf("cause number %d", i))
	}
	got := tr.lines()
	if len(got) != 1+maxCauses+1 {
		t.Fatalf("%d problem lines, want %d:\n%s", len(got), 2+maxCauses, strings.Join(got, "\n"))
	}
	if got[0] != "subscription is disabled" {
		t.Errorf("first line %q", got[0])
	}
	want := "300 blobs: download <contentId> from <contentUri>: HTTP 500 (blob-000, blob-001, blob-002, …)"
	if got[1] != want {
		t.Errorf("grouped line\n got %q\nwant %q", got[1], want)
	}
	if got[2] != "blob lone: record 3 is larger than 65536 bytes" {
		t.Errorf("a cause of one blob keeps its message: %q", got[2])
	}
	if last := got[len(got)-1]; !strings.HasPrefix(last, "14 more blobs failed for 14 other causes") {
		t.Errorf("last line %q", last)
	}
}
