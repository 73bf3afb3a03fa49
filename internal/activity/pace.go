package activity

import (
	"context"
	"sync"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/retry"
)

// pacer spaces requests evenly so that all workers together stay under a per-minute budget: the
// tenant's quota is shared by every request, and tripping it costs more time than pacing does.
//
// The budget adapts (additive increase, multiplicative decrease): a throttled answer means that
// the tenant's quota is spent, by this run or by other tools of the tenant, and the live service
// says nothing of how long to wait (no Retry-After, no RateLimit-* headers). So the pace is
// halved on every throttled answer, down to a floor, and climbs back to the configured rate by a
// quarter of it per minute without throttling.
type pacer struct {
	mu      sync.Mutex
	now     func() time.Time
	base    float64   // configured requests per minute
	rate    float64   // current requests per minute
	next    time.Time // slot of the next request
	updated time.Time // when rate was last recomputed
	cut     time.Time // when rate was last halved
}

const (
	// paceFloor is the lowest pace as a fraction of the configured one: low enough to let
	// another tool of the tenant have the quota, high enough that a run still moves.
	paceFloor = 1.0 / 32
	// paceFloorAbs is the lowest pace in requests per minute whatever the configured one (unless
	// that is lower still): at a configured pace of a few a minute, 1/32 of it would space
	// requests by many minutes, and cron runs would pile up behind the lock.
	paceFloorAbs = 30
	// paceRecovery is the share of the configured pace regained per minute without throttling:
	// from half the pace back to all of it in two minutes.
	paceRecovery = 0.25
)

func newPacer(perMinute int, now func() time.Time) *pacer {
	if perMinute <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &pacer{now: now, base: float64(perMinute), rate: float64(perMinute)}
}

// recover raises the rate for the time passed since the last update. Callers hold mu.
func (p *pacer) recover(now time.Time) {
	if !p.updated.IsZero() && p.rate < p.base {
		if d := now.Sub(p.updated); d > 0 {
			p.rate = min(p.base, p.rate+p.base*paceRecovery*d.Minutes())
		}
	}
	p.updated = now
}

// interval is the spacing of requests at the current rate. Callers hold mu.
func (p *pacer) interval() time.Duration {
	return time.Duration(float64(time.Minute) / p.rate)
}

// wait blocks until this caller's slot comes, or ctx ends. A nil pacer never waits.
func (p *pacer) wait(ctx context.Context) error {
	if p == nil {
		return ctx.Err()
	}
	p.mu.Lock()
	now := p.now()
	p.recover(now)
	slot := p.next
	if slot.Before(now) {
		slot = now
	}
	p.next = slot.Add(p.interval())
	p.mu.Unlock()
	return retry.Sleep(ctx, slot.Sub(now))
}

// throttled halves the rate after a throttled answer to a request sent at sent. Answers to
// requests sent before the last cut say nothing new (they were in flight at the old pace), so
// many workers throttled at once cut the pace once. It reports whether the rate was cut, and
// the new rate in requests per minute.
func (p *pacer) throttled(sent time.Time) (bool, float64) {
	if p == nil {
		return false, 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.recover(now)
	if sent.Before(p.cut) {
		return false, p.rate
	}
	p.rate = max(p.base*paceFloor, min(p.base, paceFloorAbs), p.rate/2)
	p.cut = now
	// The next slot moves out to the new spacing at once.
	if next := now.Add(p.interval()); p.next.Before(next) {
		p.next = next
	}
	return true, p.rate
}

// current is the pace in requests per minute now (0 for no pacing).
func (p *pacer) current() float64 {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recover(p.now())
	return p.rate
}
