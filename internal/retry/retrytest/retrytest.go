// Package retrytest holds the one retry policy of the tests: the production shape (several
// tries, backoff with jitter, Retry-After honoured but capped, a budget) with waits of
// milliseconds, so tests go through the real retry loop without waiting as production does.
package retrytest

import (
	"time"

	"github.com/o365logfetch/o365logfetch/internal/retry"
)

// Policy rides out the emulator's injected faults in a fraction of a second and gives up on a
// persistent one within about a quarter of a second.
var Policy = retry.Policy{Attempts: 8, Base: 5 * time.Millisecond, Cap: 50 * time.Millisecond,
	RetryAfterCap: 100 * time.Millisecond, Budget: 20 * time.Second}
