// Command o365release packs the binaries that `make cross` left in dist/ into one archive per
// platform (tar.gz, zip for Windows) with the README, the example config, .env.template and the
// license, and writes SHA256SUMS over the archives and the .deb/.rpm packages in dist/.
//
// Archives are byte-identical for the same inputs: entries in a fixed order, every time set to
// -epoch (the commit time), owner 0:0, modes 0755/0644, and no name or time in the gzip header.
// Used by `make release`:
//
//	o365release -dist dist -version v1.2.3 -epoch 1764000000 \
//	    -file README.md -file LICENSE=cmd/o365logfetch/package/LICENSE linux/amd64 windows/amd64
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "o365release:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("o365release", flag.ContinueOnError)
	var r release
	fs.StringVar(&r.dist, "dist", "dist", "directory with the binaries o365logfetch-OS-ARCH[.exe]; archives and SHA256SUMS go here too")
	fs.StringVar(&r.version, "version", "", "version in the archive names (required)")
	epoch := fs.String("epoch", os.Getenv("SOURCE_DATE_EPOCH"), "time of every archive entry, in epoch seconds (default $SOURCE_DATE_EPOCH)")
	fs.Func("file", "a file for every archive, named NAME (default: its base name) inside it (repeatable): `PATH or NAME=PATH`", func(s string) error {
		name, path, ok := strings.Cut(s, "=")
		if !ok {
			name, path = filepath.Base(s), s
		}
		if name == "" || strings.ContainsAny(name, `/\`) || path == "" {
			return fmt.Errorf("want NAME or NAME=PATH with a plain NAME, got %q", s)
		}
		r.files = append(r.files, extraFile{name: name, path: path})
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: o365release -version V -epoch SECONDS [-dist DIR] [-file [NAME=]PATH]... OS/ARCH...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if r.version == "" || strings.ContainsAny(r.version, `/\ `) {
		return fmt.Errorf("-version: want a version without slashes or spaces, got %q", r.version)
	}
	sec, err := strconv.ParseInt(*epoch, 10, 64)
	if err != nil || sec < 0 {
		return fmt.Errorf("-epoch (or SOURCE_DATE_EPOCH): want epoch seconds, got %q", *epoch)
	}
	r.mtime = time.Unix(sec, 0).UTC()
	if fs.NArg() == 0 {
		return fmt.Errorf("name at least one OS/ARCH target")
	}
	for _, t := range fs.Args() {
		goos, goarch, ok := strings.Cut(t, "/")
		if !ok || goos == "" || goarch == "" || strings.Contains(goarch, "/") {
			return fmt.Errorf("target %q: want OS/ARCH", t)
		}
		r.targets = append(r.targets, target{goos: goos, goarch: goarch})
	}
	written, err := r.archives()
	if err != nil {
		return err
	}
	for _, name := range written {
		fmt.Println("wrote", name)
	}
	sums, err := r.writeSums()
	if err != nil {
		return err
	}
	fmt.Println("wrote", sums)
	return nil
}
