// Command o365logfetch pulls Microsoft 365 audit logs from the Office 365 Management Activity API
// into one JSON-lines file per content type.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/o365logfetch/o365logfetch/internal/cli"
)

// atExit runs before the process exits (a profiling build sets it).
var atExit = func() {}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	atExit()
	os.Exit(code)
}
