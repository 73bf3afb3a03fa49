package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/o365logfetch/o365logfetch/internal/cli"
)

// openPTY opens a pseudo-terminal: what the tool writes to tty, the test reads from pty.
func openPTY(t *testing.T) (pty, tty *os.File) {
	t.Helper()
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	fd := int(pty.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		pty.Close()
		t.Skipf("unlock pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		pty.Close()
		t.Skipf("pseudo-terminal number: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		pty.Close()
		t.Skipf("open pseudo-terminal: %v", err)
	}
	return pty, tty
}

// readScreen collects what the terminal shows, until its tty side is closed.
func readScreen(pty *os.File) <-chan string {
	screen := make(chan string, 1)
	go func() {
		var b bytes.Buffer
		_, _ = io.Copy(&b, pty) // ends with EIO once the terminal side is closed
		screen <- b.String()
	}()
	return screen
}

// On a terminal a fetch shows a progress bar and ends with the summary, unless --quiet.
func TestTerminalShowsProgressAndSummary(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		bar     bool
		summary bool
	}{
		{"terminal", nil, true, true},
		{"terminal, quiet", []string{"--quiet"}, false, false},
		{"terminal, quiet, text asked for", []string{"--quiet", "--summary", "text"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := summaryHarness(t)
			pty, tty := openPTY(t)
			defer pty.Close()
			screen := readScreen(pty)
			var stdout bytes.Buffer
			app := cli.App{Stdout: &stdout, Stderr: tty, HTTP: h.srv.Client(), Now: h.clock.Now}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			code := app.Run(ctx, append([]string{"--config", h.cfg}, tt.args...))
			tty.Close()
			out := <-screen
			if code != 0 {
				t.Fatalf("exit code %d\n%s", code, out)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout is not empty:\n%s", stdout.String())
			}
			if got := strings.Contains(out, " blobs, ") && strings.Contains(out, "records"); got != tt.bar {
				t.Errorf("progress bar shown = %v, want %v:\n%q", got, tt.bar, out)
			}
			if got := strings.Contains(out, "total ") && strings.Contains(out, "exit code 0"); got != tt.summary {
				t.Errorf("summary shown = %v, want %v:\n%q", got, tt.summary, out)
			}
			if tt.summary && !strings.Contains(out, "Audit.Exchange ") {
				t.Errorf("summary lacks the per-type line:\n%q", out)
			}
		})
	}
}
