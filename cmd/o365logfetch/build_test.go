package main

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const repoRoot = "../.."

// makeVars reads NAME := value lines of the Makefile, for the names asked.
func makeVars(t *testing.T, names ...string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":=")
		if ok {
			vars[strings.TrimSpace(name)] = strings.TrimSpace(value)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, ok := vars[n]; !ok {
			t.Fatalf("Makefile has no %s := line", n)
		}
	}
	return vars
}

// TestStaticBuild builds the binary the way make build and make cross do (the flags are read
// from the Makefile) for Linux on this machine's architecture, and checks that it needs no
// dynamic loader or C library, carries no path of this machine, and reports its version.
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole binary")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH:", err)
	}
	v := makeVars(t, "BUILD_ENV", "BUILD_FLAGS", "BUILD_LDFLAGS")
	const version = "v9.8.7-static-test"
	out := filepath.Join(t.TempDir(), "o365logfetch")
	args := append([]string{"build"}, strings.Fields(v["BUILD_FLAGS"])...)
	args = append(args, "-ldflags",
		v["BUILD_LDFLAGS"]+" -X github.com/o365logfetch/o365logfetch/internal/cli.version="+version,
		"-o", out, ".")
	cmd := exec.Command(goBin, args...)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH)
	cmd.Env = append(cmd.Env, strings.Fields(v["BUILD_ENV"])...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}

	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has a %v program header: it is dynamically linked", p.Type)
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		t.Error("binary has a .dynamic section")
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("binary imports libraries %v (%v)", libs, err)
	}

	info, err := buildinfo.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("build settings CGO_ENABLED=%q -trimpath=%q; want 0 and true",
			settings["CGO_ENABLED"], settings["-trimpath"])
	}

	// No path of the machine that built it: not the source tree, not the Go installation.
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	src, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	goroot, err := exec.Command(goBin, "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{src, strings.TrimSpace(string(goroot))} {
		if p != "" && bytes.Contains(bin, []byte(p)) {
			t.Errorf("binary contains the build path %s", p)
		}
	}

	if runtime.GOOS == "linux" {
		got, err := exec.Command(out, "version").CombinedOutput()
		if err != nil {
			t.Fatalf("o365logfetch version: %v\n%s", err, got)
		}
		if !strings.HasPrefix(string(got), "o365logfetch "+version+" ") {
			t.Errorf("o365logfetch version printed %q, want the stamped version %s", got, version)
		}
	}
}

// TestUnitsMatchREADME keeps the systemd units the packages install identical to the ones the
// README shows: each README block that starts with "# /usr/lib/systemd/system/NAME" must equal
// package/NAME, and each packaged unit must have its block.
func TestUnitsMatchREADME(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "# /usr/lib/systemd/system/"
	blocks := map[string]string{}
	lines := strings.SplitAfter(string(readme), "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "```") || i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], prefix) {
			continue
		}
		name := strings.TrimSpace(strings.TrimPrefix(lines[i+1], prefix))
		var b strings.Builder
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			b.WriteString(lines[i])
		}
		blocks[name] = b.String()
	}
	for _, name := range []string{"o365logfetch.service", "o365logfetch.timer"} {
		unit, err := os.ReadFile(filepath.Join("package", name))
		if err != nil {
			t.Fatal(err)
		}
		block, ok := blocks[name]
		if !ok {
			t.Errorf("README.md has no code block starting with %s%s", prefix, name)
			continue
		}
		if block != string(unit) {
			t.Errorf("README.md's %s differs from package/%s:\nREADME:\n%s\npackage:\n%s", name, name, block, unit)
		}
	}
}
