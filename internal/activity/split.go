package activity

import (
	"context"
	"fmt"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/window"
)

// ListFunc lists the blobs of a content type that became available in a window, page by page
// (Client.List).
type ListFunc func(ctx context.Context, contentType string, w window.Window, fn func([]Content) error) error

// ListSplitting lists w with list. When the API refuses the window itself (AF20055, or AF20030
// in older answers), it lists the two halves instead, and so on down to window.MinSpan: the
// live service has been seen refusing windows that its documentation allows. refused, when
// set, hears of each refusal before the halves are listed. On failure it returns the start of
// the first period that could not be listed: everything before it was listed.
func ListSplitting(ctx context.Context, list ListFunc, contentType string, w window.Window,
	fn func([]Content) error, refused func(window.Window, error)) (time.Time, error) {
	err := list(ctx, contentType, w, fn)
	if err == nil || !HasCode(err, CodeBadWindow, CodeBadWindowOld) {
		return w.Start, err
	}
	first, second, ok := window.Halve(w)
	if !ok {
		return w.Start, fmt.Errorf("the API refuses even a %s window (%s), so the refusal is not about the window's length: check the machine's clock (NTP): %w", w.Duration(), w, err)
	}
	if refused != nil {
		refused(w, err)
	}
	if failed, err := ListSplitting(ctx, list, contentType, first, fn, refused); err != nil {
		return failed, err
	}
	return ListSplitting(ctx, list, contentType, second, fn, refused)
}
