//go:build unix

// Command o365bench measures the real o365logfetch binary against the emulator on loopback and
// prints one table: time, CPU and peak memory next to a minimal downloader of the same data
// (the floor), CPU as a ratio to the floor, memory at three times the data and at 16 and 32
// workers and for one 100 MB blob, and request pacing against an enforced quota. The emulator
// offers HTTP/2 and serves records shaped like captured ones unless told otherwise. Every run is
// checked for correctness (every record exactly once). It fails only on a memory bound or a
// correctness failure: timings are reported, not judged, because shared machines are noisy.
//
//	o365bench [-bin ./o365logfetch] [-scale 1] [-pacing 20s] [-profile DIR]
//	          [-http 2|1.1] [-records shaped|mix] [-realworld DIR] [-transports]
//
// With -profile (and a binary built with -tags profile, as make profile does), each tool run
// leaves a CPU profile in DIR, named after its row: tool-1x.prof, tool-3x.prof, ...
package main

import (
	"fmt"
	"os"
)

func main() {
	args := os.Args[1:]
	var err error
	switch {
	case len(args) > 0 && args[0] == "floor": // hidden: the minimal downloader
		err = floor(args[1:])
	case len(args) > 0 && args[0] == "measure": // hidden: runs one child and reports its rusage
		err = measure(args[1:])
	default:
		err = bench(args)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "o365bench:", err)
		os.Exit(1)
	}
}
