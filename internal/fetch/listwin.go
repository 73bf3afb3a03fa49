package fetch

import (
	"context"
	"fmt"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/activity"
	"github.com/o365logfetch/o365logfetch/internal/window"
)

// listWindow lists w and offers every blob listed. When the API refuses the window itself
// (AF20055, or AF20030 in older answers), it lists the two halves instead, and so on down to
// window.MinSpan: the live service has been seen refusing windows that its documentation
// allows. On failure it returns the start of the first period that could not be listed:
// everything before it was listed.
func (r *typeRun) listWindow(ctx context.Context, w window.Window) (time.Time, error) {
	progress := r.o.Progress
	err := r.o.API.List(ctx, r.res.ContentType, w, func(page []activity.Content) error {
		var upTo time.Time
		for _, c := range page {
			r.offer(ctx, c, true)
			if t := c.Created(); t.After(upTo) {
				upTo = t
			}
		}
		// Listings come in the order content became available: the window is listed up to
		// the newest blob of the page (never past the window).
		if progress != nil && !upTo.IsZero() {
			if upTo.After(w.End) {
				upTo = w.End
			}
			progress.Listed(r.res.ContentType, upTo)
		}
		return nil
	})
	if err == nil && progress != nil {
		progress.Listed(r.res.ContentType, w.End)
	}
	if err == nil || !activity.HasCode(err, activity.CodeBadWindow, activity.CodeBadWindowOld) {
		return w.Start, err
	}
	first, second, ok := window.Halve(w)
	if !ok {
		return w.Start, fmt.Errorf("the API refuses even a %s window (%s), so the refusal is not about the window's length: check the machine's clock (NTP): %w", w.Duration(), w, err)
	}
	r.o.Log.Warn("the API refused a listing window; listing its halves instead",
		"content_type", r.res.ContentType, "window_start", w.Start, "window_end", w.End, "error", err)
	if failed, err := r.listWindow(ctx, first); err != nil {
		return failed, err
	}
	return r.listWindow(ctx, second)
}
