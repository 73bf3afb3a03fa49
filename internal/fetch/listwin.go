package fetch

import (
	"context"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/activity"
	"github.com/o365logfetch/o365logfetch/internal/window"
)

// listWindow lists w and offers every blob listed, listing the halves of a window the API
// refuses (activity.ListSplitting). On failure it returns the start of the first period that
// could not be listed: everything before it was listed.
func (r *typeRun) listWindow(ctx context.Context, w window.Window) (time.Time, error) {
	progress := r.o.Progress
	failed, err := activity.ListSplitting(ctx, r.o.API.List, r.res.ContentType, w, func(page []activity.Content) error {
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
	}, func(refused window.Window, err error) {
		r.o.Log.Warn("the API refused a listing window; listing its halves instead",
			"content_type", r.res.ContentType, "window_start", refused.Start, "window_end", refused.End, "error", err)
	})
	if err == nil && progress != nil {
		progress.Listed(r.res.ContentType, w.End)
	}
	return failed, err
}
