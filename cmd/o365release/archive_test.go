package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// setup writes fake binaries and docs into a fresh directory, with file times that differ run
// to run (the archives must not carry them).
func setup(t *testing.T) (dist string, args []string) {
	t.Helper()
	dir := t.TempDir()
	dist = filepath.Join(dir, "dist")
	if err := os.Mkdir(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path, content string, mode fs.FileMode) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if err := os.Chtimes(path, now, now); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dist, "o365logfetch-linux-amd64"), "ELF linux binary", 0o700)
	write(filepath.Join(dist, "o365logfetch-windows-amd64.exe"), "MZ windows binary", 0o600)
	write(filepath.Join(dist, "o365logfetch_1.2.3-1_amd64.deb"), "a package", 0o644)
	write(filepath.Join(dir, "README.md"), "# readme\n", 0o600)
	write(filepath.Join(dir, "license.txt"), "Apache License\n", 0o644)
	return dist, []string{"-dist", dist, "-version", "v1.2.3", "-epoch", "1764000000",
		"-file", filepath.Join(dir, "README.md"), "-file", "LICENSE=" + filepath.Join(dir, "license.txt"),
		"linux/amd64", "windows/amd64"}
}

type member struct {
	mode  fs.FileMode
	mtime time.Time
	data  string
}

// TestArchivesAreDeterministic builds the same release twice, from inputs with other file times
// and modes, and wants identical bytes, the expected members with fixed modes, owner and time,
// and a SHA256SUMS that matches the files.
func TestArchivesAreDeterministic(t *testing.T) {
	dist1, args1 := setup(t)
	time.Sleep(1100 * time.Millisecond) // input file times differ by more than the archive's resolution
	dist2, args2 := setup(t)
	for _, args := range [][]string{args1, args2} {
		if err := run(args); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{"SHA256SUMS", "o365logfetch_v1.2.3_linux_amd64.tar.gz", "o365logfetch_v1.2.3_windows_amd64.zip"}
	for _, n := range names {
		a, err := os.ReadFile(filepath.Join(dist1, n))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dist2, n))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs on the same inputs", n)
		}
	}

	epoch := time.Unix(1764000000, 0).UTC()
	top := "o365logfetch_v1.2.3_linux_amd64/"
	wantTar := map[string]member{
		top:                  {fs.ModeDir | 0o755, epoch, ""},
		top + "LICENSE":      {0o644, epoch, "Apache License\n"},
		top + "README.md":    {0o644, epoch, "# readme\n"},
		top + "o365logfetch": {0o755, epoch, "ELF linux binary"},
	}
	gotTar, order := readTarGz(t, filepath.Join(dist1, names[1]))
	if fmt.Sprint(order) != fmt.Sprint([]string{top, top + "LICENSE", top + "README.md", top + "o365logfetch"}) {
		t.Errorf("tar order %v, want the directory then the files sorted by name", order)
	}
	compare(t, "tar.gz", gotTar, wantTar)

	top = "o365logfetch_v1.2.3_windows_amd64/"
	wantZip := map[string]member{
		top:                      {fs.ModeDir | 0o755, epoch, ""},
		top + "LICENSE":          {0o644, epoch, "Apache License\n"},
		top + "README.md":        {0o644, epoch, "# readme\n"},
		top + "o365logfetch.exe": {0o755, epoch, "MZ windows binary"},
	}
	compare(t, "zip", readZip(t, filepath.Join(dist1, names[2])), wantZip)

	sums, err := os.ReadFile(filepath.Join(dist1, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, n := range []string{"o365logfetch_1.2.3-1_amd64.deb", names[1], names[2]} {
		b, err := os.ReadFile(filepath.Join(dist1, n))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		fmt.Fprintf(&want, "%s  %s\n", hex.EncodeToString(sum[:]), n)
	}
	if string(sums) != want.String() {
		t.Errorf("SHA256SUMS:\n%s\nwant:\n%s", sums, want.String())
	}
}

func compare(t *testing.T, kind string, got, want map[string]member) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: no %s", kind, name)
			continue
		}
		if g.mode != w.mode || !g.mtime.Equal(w.mtime) || g.data != w.data {
			t.Errorf("%s: %s is mode %v, time %v, content %q; want %v, %v, %q",
				kind, name, g.mode, g.mtime, g.data, w.mode, w.mtime, w.data)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: unexpected member %s", kind, name)
		}
	}
}

func readTarGz(t *testing.T, path string) (map[string]member, []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header carries name %q and time %v", zr.Name, zr.ModTime)
	}
	got := map[string]member{}
	var order []string
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want 0:0", h.Name, h.Uid, h.Gid)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = member{h.FileInfo().Mode(), h.ModTime.UTC(), string(data)}
		order = append(order, h.Name)
	}
	return got, order
}

func readZip(t *testing.T, path string) map[string]member {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	got := map[string]member{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		got[f.Name] = member{f.Mode(), f.Modified.UTC(), string(data)}
	}
	return got
}

// TestRunRejectsBadInput: a missing binary, a bad target or epoch is an error, and leaves no
// archive or SHA256SUMS behind.
func TestRunRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func([]string) []string
	}{
		{"missing binary", func(a []string) []string { return append(a, "darwin/arm64") }},
		{"bad target", func(a []string) []string { return append(a, "linux") }},
		{"bad epoch", func(a []string) []string { a[5] = "yesterday"; return a }},
		{"no version", func(a []string) []string { a[3] = ""; return a }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dist, args := setup(t)
			if err := run(tc.edit(args)); err == nil {
				t.Fatal("no error")
			}
			if _, err := os.Stat(filepath.Join(dist, "SHA256SUMS")); !os.IsNotExist(err) {
				t.Errorf("SHA256SUMS written after an error (%v)", err)
			}
		})
	}
}
