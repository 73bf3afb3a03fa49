package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/o365logfetch/o365logfetch/internal/cli"
	"github.com/o365logfetch/o365logfetch/internal/emulator"
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

// Over a three-day backfill on a terminal, the percentage shown is never ahead of the share of
// the period whose blobs are all in the output file, and it shows 100 % only once everything
// is written.
func TestProgressShowsTheShareWritten(t *testing.T) {
	h := newHarness(t, setup{types: []string{"Audit.Exchange"}, emu: emulator.Config{PageSize: 8}})
	now := h.clock.Now()
	start := now.Add(-3 * 24 * time.Hour).UTC().Truncate(time.Second)
	blobs := h.srv.Generate("Audit.Exchange", start.Add(time.Minute), now.Add(-time.Minute), 15*time.Minute, 2)
	sort.Slice(blobs, func(i, j int) bool { return blobs[i].Created.Before(blobs[j].Created) })
	h.srv.SetFaults(emulator.Faults{Latency: 15 * time.Millisecond})
	end := now.UTC().Truncate(time.Second)

	// diskShare is the share of [start, end) up to the first blob not yet in the output file.
	out := filepath.Join(h.out, "Audit.Exchange.log")
	diskShare := func() float64 {
		data, _ := os.ReadFile(out)
		written := map[string]bool{}
		for _, line := range bytes.Split(data, []byte("\n")) {
			if _, id, ok := bytes.Cut(line, []byte(`"contentId":"`)); ok {
				id, _, _ = bytes.Cut(id, []byte(`"`))
				written[string(id)] = true
			}
		}
		for _, b := range blobs {
			if !written[b.ContentID] {
				return float64(b.Created.Sub(start)) / float64(end.Sub(start))
			}
		}
		return 1
	}

	pty, tty := openPTY(t)
	defer pty.Close()
	type frame struct {
		shown int
		disk  float64
	}
	frames := make(chan []frame)
	go func() {
		var got []frame
		var pending []byte
		seen := false // the frame in pending was counted
		buf := make([]byte, 4096)
		pct := regexp.MustCompile(`^\s*(\d+)% \[`)
		count := func(text []byte) {
			if m := pct.FindSubmatch(text); m != nil && !seen {
				p, _ := strconv.Atoi(string(m[1]))
				got = append(got, frame{p, diskShare()}) // on disk after the frame was drawn
				seen = true
			}
		}
		for {
			n, err := pty.Read(buf)
			pending = append(pending, buf[:n]...)
			// Each frame starts with \r. A frame counts as soon as its percentage is read.
			for {
				i := bytes.IndexByte(pending, '\r')
				if i < 0 {
					break
				}
				count(pending[:i])
				pending, seen = pending[i+1:], false
			}
			count(pending)
			if err != nil { // EIO once the terminal side is closed
				frames <- got
				return
			}
		}
	}()
	app := cli.App{Stdout: io.Discard, Stderr: tty, HTTP: h.srv.Client(), Now: h.clock.Now, Retry: fastRetry}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := app.Run(ctx, []string{"--config", h.cfg, "--start", start.Format(time.RFC3339), "--end", end.Format(time.RFC3339)})
	tty.Close()
	got := <-frames
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	between := 0
	for i, f := range got {
		if float64(f.shown) > f.disk*100+3 {
			t.Errorf("frame %d shows %d%% while %.1f%% of the period is on disk", i, f.shown, f.disk*100)
		}
		if f.shown >= 100 && f.disk < 1 {
			t.Errorf("frame %d shows 100%% before everything is written", i)
		}
		if f.shown > 0 && f.shown < 100 {
			between++
		}
	}
	if len(got) < 5 || between == 0 {
		t.Fatalf("%d frames, %d between 0 and 100 %%: the test proves nothing", len(got), between)
	}
	if last := got[len(got)-1]; last.shown != 100 {
		t.Errorf("the last frame shows %d%%, want 100%%", last.shown)
	}
	var trace []string
	for _, f := range got {
		trace = append(trace, fmt.Sprintf("%d/%.0f", f.shown, f.disk*100))
	}
	t.Logf("%d frames, %d between 0 and 100 %%; shown/on disk: %s", len(got), between, strings.Join(trace, " "))
	h.exactlyOnce("Audit.Exchange")
}
