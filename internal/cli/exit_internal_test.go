package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/exit"
	"github.com/o365logfetch/o365logfetch/internal/layout"

	"github.com/o365logfetch/o365logfetch/internal/activity"
	"github.com/o365logfetch/o365logfetch/internal/auth"
	"github.com/o365logfetch/o365logfetch/internal/config"
	"github.com/o365logfetch/o365logfetch/internal/dedup"
	"github.com/o365logfetch/o365logfetch/internal/fetch"
	"github.com/o365logfetch/o365logfetch/internal/localfs"
	"github.com/o365logfetch/o365logfetch/internal/setup"
	"github.com/o365logfetch/o365logfetch/internal/state"
)

// TestExitCodes pins the exit code of every kind of error the tool makes, each made the way the
// tool makes it where that needs no network: scripts and schedulers branch on these codes.
func TestExitCodes(t *testing.T) {
	diskFull := &fs.PathError{Op: "write", Path: "out/Audit.Exchange.log", Err: syscall.ENOSPC}
	tests := []struct {
		name string
		err  func(t *testing.T) error
		want int
	}{
		{"nothing wrong", func(*testing.T) error { return nil }, ExitOK},

		{"command line mistake", func(*testing.T) error { return &usageError{"unknown command"} }, ExitUsage},
		{"directory that cannot be written", func(*testing.T) error {
			return &setupError{fmt.Errorf("[LOGGING] baseLogLocation: %w", fs.ErrPermission)}
		}, ExitUsage},
		{"a full disk met before the run is still a storage fault", func(*testing.T) error {
			return &setupError{fmt.Errorf("init: %w", diskFull)}
		}, int(exit.Storage)},
		{"a directory that cannot be written is a setup problem", func(*testing.T) error {
			return &setupError{fmt.Errorf("baseLogLocation: %w", os.ErrPermission)}
		}, ExitUsage},
		{"init finds a file in the way", func(*testing.T) error {
			return &setupError{fmt.Errorf("init: %w", &setup.ExistsError{Path: "o365_logs.cfg", What: "config", Hint: "use --force"})}
		}, ExitUsage},
		{"config value", func(t *testing.T) error {
			path := filepath.Join(t.TempDir(), "o365_logs.cfg")
			writeTestFile(t, path, "[API_SETTINGS]\ntenant = x\n")
			_, err := config.Load(path, func(string) string { return "" })
			return err
		}, ExitUsage},
		{"credential file missing", func(t *testing.T) error {
			_, err := auth.New(auth.Settings{AuthorityHost: "https://login.example", Tenant: "t", ClientID: "c",
				Resource: "https://manage.example", PrivateKeyFile: filepath.Join(t.TempDir(), "missing.pem")}, nil, nil)
			return err
		}, ExitUsage},
		{"state file unreadable", func(t *testing.T) error {
			dir := t.TempDir()
			writeTestFile(t, filepath.Join(dir, layout.StateFile), "{not json")
			_, err := state.Open(dir)
			return err
		}, ExitUsage},
		{"state file from a newer version", func(t *testing.T) error {
			dir := t.TempDir()
			writeTestFile(t, filepath.Join(dir, layout.StateFile), `{"version": 99, "types": {}}`)
			_, err := state.Open(dir)
			return err
		}, ExitUsage},
		{"record index damaged", func(t *testing.T) error {
			dir := t.TempDir()
			writeTestFile(t, filepath.Join(dir, layout.RecordIndex), "this is no index at all, just text\n")
			_, err := dedup.Open(dir, fetch.DefaultRecordHorizon, time.Now())
			return err
		}, ExitUsage},
		{"blob ledger damaged", func(t *testing.T) error {
			dir := t.TempDir()
			writeTestFile(t, filepath.Join(dir, layout.BlobLedger), "this is no ledger at all, just text\n")
			_, err := dedup.OpenFile(dir, layout.BlobLedger, fetch.DefaultRecordHorizon, time.Now())
			return err
		}, ExitUsage},

		{"azure ad refuses the token", func(*testing.T) error {
			return fmt.Errorf("list Audit.Exchange: %w", &auth.Error{Code: 700027, Description: "AADSTS700027"})
		}, ExitAuth},
		{"api answers 401", func(*testing.T) error {
			return &activity.APIError{Op: "list Audit.Exchange", Status: http.StatusUnauthorized}
		}, ExitAuth},
		{"api lacks permission", func(*testing.T) error {
			return fmt.Errorf("subscriptions: %w", &activity.APIError{Op: "subscriptions", Status: http.StatusForbidden, Code: activity.CodeNoPermission})
		}, ExitAuth},

		{"another run holds the lock", func(t *testing.T) error {
			dir := t.TempDir()
			l, err := state.Lock(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = l.Unlock() })
			_, err = state.Lock(dir)
			return err
		}, ExitLocked},

		{"storage fault stops the run", func(t *testing.T) error {
			return localfs.NewFault(t.TempDir(), "output file Audit.Exchange.log", diskFull)
		}, ExitStorage},
		{"storage fault no layer described", func(*testing.T) error {
			return fmt.Errorf("save progress: %w", diskFull)
		}, ExitStorage},

		{"some content not fetched", func(*testing.T) error {
			return fmt.Errorf("%w:\n  Audit.Exchange: blob x: HTTP 500", fetch.ErrIncomplete)
		}, ExitIncomplete},
		{"api fails for now", func(*testing.T) error {
			return &activity.APIError{Op: "download x", Status: http.StatusServiceUnavailable, Code: "AF50000"}
		}, ExitIncomplete},
		{"interrupted", func(*testing.T) error { return context.Canceled }, ExitIncomplete},
		{"unclassified", func(*testing.T) error { return errors.New("connection reset") }, ExitIncomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err(t)
			if (err == nil) != (tt.want == ExitOK) {
				t.Fatalf("err = %v", err)
			}
			if got := exitCode(err); got != tt.want {
				t.Errorf("exitCode(%T %v) = %d, want %d", err, err, got, tt.want)
			}
		})
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
