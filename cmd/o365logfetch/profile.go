//go:build profile

package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// A binary built with -tags profile (make profile) writes a CPU profile of the whole run to the
// file named by O365LOGFETCH_CPUPROFILE. Release builds carry none of this.
func init() {
	path := os.Getenv("O365LOGFETCH_CPUPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "o365logfetch: cpu profile:", err)
		os.Exit(2)
	}
	atExit = func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
