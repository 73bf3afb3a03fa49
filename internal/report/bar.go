package report

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Bar is a progress bar of blobs and records on a terminal. It implements fetch.Progress.
// Blobs are counted as they are listed, so the total grows during the run; the bar keeps one
// step in hand until Close so that it does not declare itself finished while listing goes on.
type Bar struct {
	mu      sync.Mutex // serialises the bar and the log lines written through Writer
	bar     *progressbar.ProgressBar
	out     io.Writer
	queued  int64
	written int64
	records int64
	closed  bool
}

// NewBar draws on w, which should be a terminal.
func NewBar(w io.Writer) *Bar {
	return &Bar{out: w, bar: progressbar.NewOptions64(1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetDescription("listing"),
	)}
}

// Queued counts a blob that will be downloaded.
func (b *Bar) Queued(string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.queued++
	b.bar.AddMax64(1)
	b.describe()
}

// Written counts a blob written with its records.
func (b *Bar) Written(_ string, records, _ int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.written++
	b.records += records
	b.describe()
	_ = b.bar.Add64(1)
}

func (b *Bar) describe() {
	b.bar.Describe(fmt.Sprintf("%d/%d blobs, %d records", b.written, b.queued, b.records))
}

// Close removes the bar from the terminal.
func (b *Bar) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	_ = b.bar.Finish()
}

// Writer returns a writer to the same terminal that clears the bar before each write, so that
// warnings logged during the run are whole lines and not mixed into the bar. The bar is drawn
// again at its next update.
func (b *Bar) Writer() io.Writer { return barWriter{b} }

type barWriter struct{ b *Bar }

func (w barWriter) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	if !w.b.closed {
		_ = w.b.bar.Clear()
	}
	return w.b.out.Write(p)
}
