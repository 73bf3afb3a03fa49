package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// packaged is what every .deb and .rpm must hold, besides the parent directories (root, 0755).
var packaged = map[string]string{ // path: "mode owner group"
	"/etc/o365logfetch":                            "drwxr-x--- root o365logfetch",
	"/etc/o365logfetch/o365_logs.cfg":              "-rw-r----- root o365logfetch",
	"/usr/bin/o365logfetch":                        "-rwxr-xr-x root root",
	"/usr/lib/systemd/system/o365logfetch.service": "-rw-r--r-- root root",
	"/usr/lib/systemd/system/o365logfetch.timer":   "-rw-r--r-- root root",
	"/usr/share/doc/o365logfetch/LICENSE":          "-rw-r--r-- root root",
	"/usr/share/doc/o365logfetch/README.md":        "-rw-r--r-- root root",
	"/usr/share/doc/o365logfetch/env.template":     "-rw-r--r-- root root",
	"/var/lib/o365logfetch":                        "drwx------ o365logfetch o365logfetch",
	"/var/log/o365":                                "drwxr-x--- o365logfetch o365logfetch",
	"/var/log/o365logfetch":                        "drwxr-x--- o365logfetch o365logfetch",
}

// The config file an upgrade must never overwrite.
const configFile = "/etc/o365logfetch/o365_logs.cfg"

// packageDir is where `make package` left the packages; the package tests run only when it is
// set (CI sets it), as they need dpkg-deb and rpm.
func packageDir(t *testing.T) string {
	dir := os.Getenv("O365_PACKAGE_DIR")
	if dir == "" {
		t.Skip("O365_PACKAGE_DIR not set: run `make package` and set it to dist/ to check the packages")
	}
	return dir
}

func packages(t *testing.T, dir, ext string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*."+ext))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .%s in %s (%v)", ext, dir, err)
	}
	return files
}

func checkContents(t *testing.T, pkg string, got map[string]string) {
	t.Helper()
	for path, want := range packaged {
		if got[path] != want {
			t.Errorf("%s: %s is %q, want %q", filepath.Base(pkg), path, got[path], want)
		}
	}
	for path, g := range got {
		if _, ok := packaged[path]; !ok && g != "drwxr-xr-x root root" {
			t.Errorf("%s: unexpected %s %s", filepath.Base(pkg), g, path)
		}
	}
}

func output(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr)
	}
	return out
}

// TestDebContents checks each .deb with dpkg-deb: files, modes and owners, the conffile, the
// maintainer scripts and the control fields.
func TestDebContents(t *testing.T) {
	dir := packageDir(t)
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("no dpkg-deb on this machine")
	}
	for _, deb := range packages(t, dir, "deb") {
		got := map[string]string{}
		tr := tar.NewReader(bytes.NewReader(output(t, "dpkg-deb", "--fsys-tarfile", deb)))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			path := "/" + strings.Trim(strings.TrimPrefix(h.Name, "./"), "/")
			if path == "/" {
				continue
			}
			got[path] = h.FileInfo().Mode().String() + " " + h.Uname + " " + h.Gname
		}
		checkContents(t, deb, got)

		if c := strings.TrimSpace(string(output(t, "dpkg-deb", "--info", deb, "conffiles"))); c != configFile {
			t.Errorf("%s: conffiles %q, want %s", deb, c, configFile)
		}
		info := string(output(t, "dpkg-deb", "--info", deb))
		for _, s := range []string{"preinst", "postinst", "prerm", "postrm"} {
			if !strings.Contains(info, " "+s+" ") {
				t.Errorf("%s: no %s script:\n%s", deb, s, info)
			}
		}
		fields := strings.Fields(string(output(t, "dpkg-deb", "--field", deb, "Package", "Architecture")))
		arch := strings.TrimSuffix(deb[strings.LastIndex(deb, "_")+1:], ".deb")
		if !slices.Equal(fields, []string{"Package:", "o365logfetch", "Architecture:", arch}) {
			t.Errorf("%s: control fields %v", deb, fields)
		}
	}
}

// TestRPMContents checks each .rpm with rpm -qp: files, modes and owners, the config file
// (noreplace) and the scriptlets.
func TestRPMContents(t *testing.T) {
	dir := packageDir(t)
	if _, err := exec.LookPath("rpm"); err != nil {
		t.Skip("no rpm on this machine (Debian package rpm)")
	}
	for _, rpm := range packages(t, dir, "rpm") {
		got := map[string]string{}
		var config []string
		out := output(t, "rpm", "-qp", "--qf",
			`[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEFLAGS:fflags}. %{FILENAMES}\n]`, rpm)
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			if len(f) != 5 {
				t.Fatalf("%s: unexpected rpm -qp line %q", rpm, line)
			}
			got[f[4]] = f[0] + " " + f[1] + " " + f[2]
			if strings.Contains(f[3], "c") {
				config = append(config, f[4]+" "+f[3])
			}
		}
		checkContents(t, rpm, got)
		if !slices.Equal(config, []string{configFile + " cn."}) {
			t.Errorf("%s: config files %v, want only %s as config(noreplace)", rpm, config, configFile)
		}
		scripts := string(output(t, "rpm", "-qp", "--scripts", rpm))
		for _, s := range []string{"preinstall", "postinstall", "preuninstall", "postuninstall"} {
			if !strings.Contains(scripts, s+" scriptlet") {
				t.Errorf("%s: no %s scriptlet:\n%s", rpm, s, scripts)
			}
		}
	}
}
