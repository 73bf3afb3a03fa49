package activity

import (
	"context"
	"sync"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/retry"
)

// pacer spaces requests evenly so that all workers together stay under a per-minute budget: the
// tenant's quota is shared by every request, and tripping it costs more time than pacing does.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

func newPacer(perMinute int) *pacer {
	if perMinute <= 0 {
		return nil
	}
	return &pacer{interval: time.Minute / time.Duration(perMinute)}
}

// wait blocks until this caller's slot comes, or ctx ends. A nil pacer never waits.
func (p *pacer) wait(ctx context.Context) error {
	if p == nil {
		return ctx.Err()
	}
	p.mu.Lock()
	now := time.Now()
	slot := p.next
	if slot.Before(now) {
		slot = now
	}
	p.next = slot.Add(p.interval)
	p.mu.Unlock()
	return retry.Sleep(ctx, time.Until(slot))
}
