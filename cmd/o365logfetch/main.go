// Command o365logfetch pulls Microsoft 365 audit logs from the Office 365 Management Activity API
// into one JSON-lines file per content type.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/o365logfetch/o365logfetch/internal/cli"
)

// atExit runs before the process exits (a profiling build sets it).
var atExit = func() {}

// memoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT sets another: the
// collector then runs more often rather than let the heap double past what is live, which
// keeps a run's peak memory flat at any worker count and data size. The live heap (spools,
// the recent record Ids) stays well below it, so it costs little CPU.
const memoryLimit = 48 << 20

func main() {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	atExit()
	os.Exit(code)
}
