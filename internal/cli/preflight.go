package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/o365logfetch/o365logfetch/internal/config"
	"github.com/o365logfetch/o365logfetch/internal/layout"
)

// preflight checks the local paths before anything is fetched or written, so that a problem
// stops the run with a clear message instead of surfacing halfway through it:
//
//   - a directory that exists must be a directory the tool can write to;
//   - a file the tool writes (output, debug log, state, lock, record index, blob ledger) must be a regular file the tool
//     can write to. A symbolic link there is followed only when it stays in the same
//     directory: a link elsewhere would make the tool append audit records to, or replace,
//     whatever it points at (a link planted by someone who can write to the directory).
//
// Credential files readable by group or others get a warning: whoever can read them can read
// the organisation's whole audit trail.
func preflight(cfg *config.Config, stderr io.Writer) error {
	outputs := make([]string, 0, len(cfg.ContentTypes))
	for _, ct := range cfg.ContentTypes {
		outputs = append(outputs, layout.Output(cfg.OutputName(ct)))
	}
	for _, d := range []struct {
		key, dir string
		files    []string
	}{
		{"debugLogLocation", cfg.DebugLogDir, []string{layout.DebugLog}},
		{"baseLogLocation", cfg.BaseLogDir, outputs},
		{"timeKeeperLocation", cfg.StateDir, layout.StateFiles()},
	} {
		if err := checkDir(d.dir, d.files); err != nil {
			return &setupError{fmt.Errorf("[LOGGING] %s: %w", d.key, err)}
		}
	}
	log := newLogger(io.Discard, cfg.LogLevel, stderr)
	renamedOutputs(cfg, log)
	if runtime.GOOS == "windows" {
		return nil // permission bits say nothing there: ACLs decide
	}
	for _, f := range credentialFiles(cfg) {
		fi, err := os.Stat(f.path)
		if err != nil {
			continue // the credential loader names a missing or unreadable file
		}
		if perm := fi.Mode().Perm(); perm&0o044 != 0 {
			log.Warn(fmt.Sprintf("%s %s is readable by group or others (mode %04o): anyone who can read it can read the audit logs; run chmod 600 on it", f.key, f.path, perm))
		}
	}
	return nil
}

// renamedOutputs warns when a type's file under its canonical name exists beside the file
// named as configured: earlier versions used the canonical name, so records of that type now
// go to another file, which a forwarder tailing the old name would miss.
func renamedOutputs(cfg *config.Config, log interface{ Warn(string, ...any) }) {
	for _, ct := range cfg.ContentTypes {
		name := cfg.OutputName(ct)
		if name == ct {
			continue
		}
		canonical, err := os.Stat(filepath.Join(cfg.BaseLogDir, layout.Output(ct)))
		if err != nil {
			continue
		}
		if configured, err := os.Stat(filepath.Join(cfg.BaseLogDir, layout.Output(name))); err == nil && os.SameFile(canonical, configured) {
			continue // a file system that ignores case: one file
		}
		log.Warn(fmt.Sprintf("%s records are written to %s, as [ContentTypes] spells the type; %s was written by an earlier version: point forwarders at the new file and move the old one away, or spell the type %s in the config", ct, layout.Output(name), layout.Output(ct), ct))
	}
}

type credentialFile struct{ key, path string }

// credentialFiles are the files holding key material or a secret.
func credentialFiles(cfg *config.Config) []credentialFile {
	var out []credentialFile
	if cfg.PrivateKeyFile != "" {
		out = append(out, credentialFile{"privateKeyFile", cfg.PrivateKeyFile})
	}
	if cfg.PFXFile != "" {
		out = append(out, credentialFile{"pfxFile", cfg.PFXFile})
	}
	if p, ok := strings.CutPrefix(cfg.SecretSource, "file "); ok && p != "" {
		out = append(out, credentialFile{"secret file", p})
	}
	return out
}

// checkDir checks a directory the tool writes to, and the files it writes there. A directory
// that does not exist yet is fine where the run can create it.
func checkDir(dir string, files []string) error {
	created, err := probeDir(dir)
	if err != nil || created {
		return err
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	for _, name := range files {
		if err := checkFile(filepath.Join(dir, name), realDir); err != nil {
			return err
		}
	}
	return nil
}

// probeDir tells whether a run can write in dir: it creates and removes a file there (root
// ignores permission bits, so only a real write tells), or, when dir does not exist yet, in the
// nearest existing parent, which the run would create it in.
func probeDir(dir string) (willCreate bool, err error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		parent := filepath.Dir(dir)
		if parent == dir {
			return false, err
		}
		if _, err := probeDir(parent); err != nil {
			return false, err
		}
		return true, nil
	case err != nil:
		return false, err
	case !fi.IsDir():
		return false, fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, layout.ProbePattern)
	if err != nil {
		return false, fmt.Errorf("directory %s is not writable: %w", dir, cause(err))
	}
	name := f.Name()
	f.Close()
	return false, os.Remove(name)
}

// checkFile checks one file the tool appends to or replaces; a missing one is created later.
func checkFile(path, realDir string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			return fmt.Errorf("%s is a symbolic link that leads nowhere (%w): remove it", path, cause(err))
		}
		if filepath.Dir(target) != realDir {
			return fmt.Errorf("%s is a symbolic link to %s, outside %s: refusing to write through it; replace the link with a regular file", path, target, realDir)
		}
		if fi, err = os.Stat(target); err != nil {
			return err
		}
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s): move it away", path, fi.Mode().Type())
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("%s is not writable: %w", path, cause(err))
	}
	return f.Close()
}

// cause drops the path from an *fs.PathError: the message names the path already.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
