package cli

import (
	"io"
	"testing"
)

// The previous tool's -s/--start_time and -e/--end_time are the same flags as --start/--end.
func TestOldToolTimeFlags(t *testing.T) {
	want, err := parseArgs([]string{"--start", "1764061200", "--end", "1764147600"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-s", "1764061200", "-e", "1764147600"},
		{"--start_time", "1764061200", "--end_time", "1764147600"},
		{"-start_time=1764061200", "-e=1764147600"},
	} {
		got, err := parseArgs(args, io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if got.start != want.start || got.end != want.end {
			t.Errorf("%q: start %q end %q, want %q %q", args, got.start, got.end, want.start, want.end)
		}
	}
}
