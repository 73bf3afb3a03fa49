package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/atomicfile"
)

const binName = "o365logfetch"

type target struct{ goos, goarch string }

type extraFile struct {
	name string // inside the archive
	path string // on disk
}

type release struct {
	dist    string
	version string
	mtime   time.Time
	files   []extraFile
	targets []target
}

// entry is one file of an archive, read whole: the inputs are a binary of a few MB and text files.
type entry struct {
	name string // relative to the archive's top directory
	mode fs.FileMode
	data []byte
}

// archives writes one archive per target into r.dist and returns their paths.
func (r *release) archives() ([]string, error) {
	var written []string
	for _, t := range r.targets {
		exe := binName
		if t.goos == "windows" {
			exe += ".exe"
		}
		bin, err := os.ReadFile(filepath.Join(r.dist, binName+"-"+t.goos+"-"+t.goarch+filepath.Ext(exe)))
		if err != nil {
			return written, fmt.Errorf("binary for %s/%s (build it with make cross): %w", t.goos, t.goarch, err)
		}
		entries := []entry{{name: exe, mode: 0o755, data: bin}}
		for _, f := range r.files {
			data, err := os.ReadFile(f.path)
			if err != nil {
				return written, err
			}
			entries = append(entries, entry{name: f.name, mode: 0o644, data: data})
		}
		slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
		for i := 1; i < len(entries); i++ {
			if entries[i].name == entries[i-1].name {
				return written, fmt.Errorf("two files named %s in the archive", entries[i].name)
			}
		}

		top := fmt.Sprintf("%s_%s_%s_%s", binName, r.version, t.goos, t.goarch)
		path := filepath.Join(r.dist, top+".tar.gz")
		write := r.writeTarGz
		if t.goos == "windows" {
			path = filepath.Join(r.dist, top+".zip")
			write = r.writeZip
		}
		if err := atomicfile.Write(path, 0o644, func(w io.Writer) error { return write(w, top, entries) }); err != nil {
			return written, fmt.Errorf("write %s: %w", path, err)
		}
		written = append(written, path)
	}
	return written, nil
}

func (r *release) writeTarGz(w io.Writer, top string, entries []entry) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	// The gzip header keeps its zero name and time; tar headers carry the fixed time and owner.
	tw := tar.NewWriter(zw)
	hdr := func(name string, mode fs.FileMode, typ byte, size int64) *tar.Header {
		return &tar.Header{Typeflag: typ, Name: name, Mode: int64(mode), Size: size,
			ModTime: r.mtime, Uname: "root", Gname: "root", Format: tar.FormatUSTAR}
	}
	if err := tw.WriteHeader(hdr(top+"/", 0o755, tar.TypeDir, 0)); err != nil {
		return err
	}
	for _, e := range entries {
		if err := tw.WriteHeader(hdr(top+"/"+e.name, e.mode, tar.TypeReg, int64(len(e.data)))); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func (r *release) writeZip(w io.Writer, top string, entries []entry) error {
	zw := zip.NewWriter(w)
	dir := &zip.FileHeader{Name: top + "/", Modified: r.mtime}
	dir.SetMode(fs.ModeDir | 0o755)
	if _, err := zw.CreateHeader(dir); err != nil {
		return err
	}
	for _, e := range entries {
		h := &zip.FileHeader{Name: top + "/" + e.name, Method: zip.Deflate, Modified: r.mtime}
		h.SetMode(e.mode)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := fw.Write(e.data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// writeSums writes SHA256SUMS, in the format of sha256sum, over every archive and package in
// r.dist, sorted by name, and returns its path.
func (r *release) writeSums() (string, error) {
	des, err := os.ReadDir(r.dist)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, de := range des { // ReadDir sorts by name
		n := de.Name()
		if !de.Type().IsRegular() || !(strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".zip") ||
			strings.HasSuffix(n, ".deb") || strings.HasSuffix(n, ".rpm")) {
			continue
		}
		sum, err := fileSHA256(filepath.Join(r.dist, n))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, n)
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("no archive or package in %s", r.dist)
	}
	path := filepath.Join(r.dist, "SHA256SUMS")
	return path, atomicfile.WriteFile(path, []byte(b.String()), 0o644)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
