//go:build unix

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// usage is what measure reports of one child: wall time around it and the kernel's rusage.
type usage struct {
	Wall, User, Sys time.Duration
	MaxRSS          int64 // bytes
}

// measure runs one command with this process's environment, directory and streams, and writes
// its usage as JSON to the report file. Being small, it keeps the child's peak RSS honest: a
// child started with vfork inherits its parent's peak as its own starting point.
func measure(args []string) error {
	fs := flag.NewFlagSet("measure", flag.ContinueOnError)
	report := fs.String("report", "", "file to write the usage to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 || *report == "" {
		return errors.New("measure: usage: measure -report FILE -- COMMAND [ARG...]")
	}
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	began := time.Now()
	runErr := cmd.Run()
	u := usage{Wall: time.Since(began)}
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			u.User = time.Duration(ru.Utime.Nano())
			u.Sys = time.Duration(ru.Stime.Nano())
			u.MaxRSS = ru.Maxrss << 10 // Linux reports KiB
		}
	}
	data, err := json.Marshal(u)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*report, data, 0o600); err != nil {
		return err
	}
	return runErr
}
