package fetch

import (
	"context"
	"fmt"
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
			r.listed(ctx, c)
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

// listed offers a listed blob, or reports what is wrong with its entry: loudly (a warning,
// and a problem of the type, so the run ends incomplete), and without stopping the listing,
// since Microsoft lists a bad entry for 7 days and every run would stop at it while the
// content after it expired. What happens to the entry depends on what is wrong:
//   - unreadable contentCreated or contentExpiration: the blob is fetched and written all
//     the same, its lines carrying the values as listed;
//   - no contentUri: it cannot be downloaded, so it is kept pending and holds the saved end
//     back, as a blob whose download fails does (for a day, then it stays pending by id
//     until it expires); a contentUri stored for it by an earlier run is tried instead;
//   - no contentId, or another content type: it is only reported. Without an id it cannot be
//     kept pending or told from other blobs, and a blob of another type must never be
//     written into this type's file (its own type's listing has it).
func (r *typeRun) listed(ctx context.Context, c activity.Content) {
	fault, err := c.Check(r.res.ContentType)
	if fault == activity.EntryOK {
		r.offer(ctx, c, true)
		return
	}
	r.o.Log.Warn("bad listing entry", "content_type", r.res.ContentType, "content_id", c.ContentID, "error", err)
	switch fault {
	case activity.EntryBadTime:
		r.problems.failBlob(c.ContentID, c.ContentURI, fmt.Errorf("%w: fetched all the same, its lines carry the value as listed", err))
		r.offer(ctx, c, true)
	case activity.EntryNoURI:
		if p, ok := r.pending[c.ContentID]; ok && p.ContentURI != "" {
			r.problems.failBlob(c.ContentID, "", fmt.Errorf("%w: the contentUri an earlier listing gave is tried", err))
			return // retryPending offers it with that contentUri
		}
		if r.seen[c.ContentID] {
			return
		}
		r.seen[c.ContentID] = true
		r.res.Listed++
		r.failBlob(c, err)
	default:
		r.problems.failBlob(c.ContentID, c.ContentURI, fmt.Errorf("%w: not fetched", err))
	}
}
