package report

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Bar shows on a terminal how far a run has come. It implements fetch.Progress.
//
// Its percentage is the share of the run's period that is written: for each content type, the
// period from the start of its listing up to the earliest point that is not on disk yet — the
// end of what has been listed, or the oldest blob listed but not yet written, whichever comes
// first. It never runs ahead of the files, and reaches 100 % only when every type is listed to
// its end and every blob listed is written. Blobs, records, the rate and an estimate of the
// time left come with it.
type Bar struct {
	mu     sync.Mutex // serialises the bar and the log lines written through Writer
	out    io.Writer
	width  int // of the terminal; 0 when unknown
	now    func() time.Time
	start  time.Time
	types  map[string]*barType
	order  []string
	closed bool
	drawn  int       // width of the line on screen; 0 when none
	last   time.Time // of the last draw
	dirty  bool

	blobs, records int64
	rate           rate

	stop chan struct{}
	done chan struct{}
}

type barType struct {
	from, to time.Time
	listed   time.Time       // listed up to here
	pending  map[int64]int64 // contentCreated (Unix ns) of blobs queued and not written: count
}

// written is how far the type's period is on disk.
func (t *barType) written() time.Time {
	w := t.listed
	for ns, n := range t.pending {
		if n > 0 {
			if c := time.Unix(0, ns); c.Before(w) {
				w = c
			}
		}
	}
	if w.Before(t.from) {
		w = t.from
	}
	if w.After(t.to) {
		w = t.to
	}
	return w
}

// barEvery is how often the bar is drawn at most.
const barEvery = 200 * time.Millisecond

// NewBar draws on w, which should be a terminal.
func NewBar(w io.Writer) *Bar {
	b := &Bar{out: w, now: time.Now, types: map[string]*barType{},
		stop: make(chan struct{}), done: make(chan struct{})}
	b.start = b.now()
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil {
			b.width = cols
		}
	}
	go b.tick()
	return b
}

// tick redraws the bar while nothing else does (the rate and the time left change).
func (b *Bar) tick() {
	defer close(b.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.mu.Lock()
			if !b.closed {
				b.dirty = true
				b.draw(false)
			}
			b.mu.Unlock()
		}
	}
}

func (b *Bar) typ(ct string) *barType {
	t := b.types[ct]
	if t == nil {
		t = &barType{pending: map[int64]int64{}}
		b.types[ct] = t
		b.order = append(b.order, ct)
	}
	return t
}

// Period sets the period a content type lists, [from, to).
func (b *Bar) Period(ct string, from, to time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.typ(ct)
	t.from, t.to, t.listed = from, to, from
	b.update()
}

// Listed says that the type is listed up to upTo.
func (b *Bar) Listed(ct string, upTo time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.typ(ct); upTo.After(t.listed) {
		t.listed = upTo
	}
	b.update()
}

// Queued counts a blob that will be downloaded; created is its contentCreated (zero for one
// outside the listed period).
func (b *Bar) Queued(ct string, created time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !created.IsZero() {
		b.typ(ct).pending[created.UnixNano()]++
	}
	b.update()
}

// Written counts a blob written with its records.
func (b *Bar) Written(ct string, created time.Time, records, _ int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !created.IsZero() {
		t := b.typ(ct)
		ns := created.UnixNano()
		if t.pending[ns]--; t.pending[ns] <= 0 {
			delete(t.pending, ns)
		}
	}
	b.blobs++
	b.records += records
	b.update()
}

func (b *Bar) update() {
	if b.closed {
		return
	}
	b.dirty = true
	b.draw(false)
}

// share is the part of all periods that is written, and the part that is listed.
func (b *Bar) share() (written, listed float64) {
	var total, w, l time.Duration
	for _, t := range b.types {
		total += t.to.Sub(t.from)
		w += t.written().Sub(t.from)
		l += min(t.listed.Sub(t.from), t.to.Sub(t.from))
	}
	if total <= 0 {
		return 0, 0
	}
	return float64(w) / float64(total), float64(l) / float64(total)
}

// line is the bar's text.
func (b *Bar) line() string {
	written, listed := b.share()
	now := b.now()
	b.rate.add(now, b.records)
	pct := int(written * 100) // rounded down: 100 only when all is written
	var s strings.Builder
	const width = 20
	fill := int(written * width)
	fmt.Fprintf(&s, "%3d%% [%s%s] written of the period, %d%% listed; %d blobs, %d records",
		pct, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), int(listed*100), b.blobs, b.records)
	if r := b.rate.perSecond(); r > 0 {
		fmt.Fprintf(&s, ", %.0f records/s", r)
	}
	elapsed := now.Sub(b.start)
	if written >= 0.02 && written < 1 && elapsed >= 3*time.Second {
		left := time.Duration(float64(elapsed) * (1 - written) / written)
		fmt.Fprintf(&s, ", about %s left", left.Round(time.Second))
	}
	return s.String()
}

// draw writes the bar when it changed and the last draw is old enough (or force).
func (b *Bar) draw(force bool) {
	if !b.dirty || (!force && b.now().Sub(b.last) < barEvery) {
		return
	}
	text := b.line()
	if b.width > 1 && len(text) >= b.width {
		text = text[:b.width-1] // a wrapped line could not be drawn over
	}
	pad := ""
	if n := b.drawn - len(text); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	_, _ = io.WriteString(b.out, "\r"+text+pad)
	b.drawn = len(text)
	b.last = b.now()
	b.dirty = false
}

// clear removes the bar from the terminal line.
func (b *Bar) clear() {
	if b.drawn > 0 {
		_, _ = io.WriteString(b.out, "\r"+strings.Repeat(" ", b.drawn)+"\r")
		b.drawn = 0
		b.dirty = true
	}
}

// Close draws the bar a last time and removes it from the terminal.
func (b *Bar) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.dirty = true
	b.draw(true)
	b.closed = true
	b.clear()
	b.mu.Unlock()
	close(b.stop)
	<-b.done
}

// Writer returns a writer to the same terminal that clears the bar before each write, so that
// warnings logged during the run are whole lines and not mixed into the bar. The bar is drawn
// again at its next update.
func (b *Bar) Writer() io.Writer { return barWriter{b} }

type barWriter struct{ b *Bar }

func (w barWriter) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	w.b.clear()
	return w.b.out.Write(p)
}

// rate is the records written per second over the last few seconds.
type rate struct {
	samples []rateSample
}

type rateSample struct {
	at      time.Time
	records int64
}

const rateSpan = 10 * time.Second

func (r *rate) add(at time.Time, records int64) {
	if n := len(r.samples); n > 0 && at.Sub(r.samples[n-1].at) < 500*time.Millisecond {
		r.samples[n-1].records = records
		return
	}
	r.samples = append(r.samples, rateSample{at, records})
	for len(r.samples) > 2 && at.Sub(r.samples[1].at) > rateSpan {
		r.samples = r.samples[1:]
	}
}

func (r *rate) perSecond() float64 {
	if len(r.samples) < 2 {
		return 0
	}
	first, last := r.samples[0], r.samples[len(r.samples)-1]
	d := last.at.Sub(first.at).Seconds()
	if d < 1 {
		return 0
	}
	return float64(last.records-first.records) / d
}
