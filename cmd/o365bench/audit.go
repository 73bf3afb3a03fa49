//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/layout"

	"github.com/o365logfetch/o365logfetch/internal/dedup"
	"github.com/o365logfetch/o365logfetch/internal/emulator"
	"github.com/o365logfetch/o365logfetch/internal/fetch"
)

// auditBlobsPerType is the audit workload: a large tenant's 7 days, about 600 blobs an hour of
// each of three types, all in the ledger but one in every missingEvery. The ledger then holds
// more keys than the index keeps in memory, so its lookups go through the spilled runs.
const (
	auditBlobsPerType = 100000
	missingEvery      = 1000
)

// runAudit measures `o365logfetch audit` over the whole 7 days of a tenant whose ledger holds
// every blob but a few: the peak RSS must stay within a normal run's bound, and exactly the
// blobs left out of the ledger must be reported missing.
func (b *bencher) runAudit(scale float64) (row, error) {
	n := max(missingEvery, int(auditBlobsPerType*scale))
	// An empty tenant and its config from setup; the blobs spread over the 7 days here.
	w := workload{name: "audit 7 days", types: benchTypes}
	r := row{name: "tool " + w.name}
	b.seq++
	if err := b.setup(&w, unpaced); err != nil {
		return r, err
	}
	defer w.emu.Close()
	srv := w.emu
	srv.SetFaults(emulator.Faults{}) // no latency while the tenant is filled
	now := time.Now().UTC()
	from, to := now.Add(-7*24*time.Hour+time.Hour), now.Add(-time.Hour)
	step := to.Sub(from) / time.Duration(n)
	stateDir := filepath.Join(w.dir, "state")
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return r, err
	}
	ledger, err := dedup.OpenFile(stateDir, layout.BlobLedger, fetch.BlobsHorizon, now)
	if err != nil {
		return r, err
	}
	missing := 0
	for _, ct := range w.types {
		keys := make([]dedup.Key, 0, n)
		for i := range n {
			bl := srv.AddBlob(emulator.BlobSpec{ContentType: ct, Created: from.Add(time.Duration(i) * step), Records: 1, RecordBytes: 500})
			if i%missingEvery == missingEvery/2 {
				missing++
				continue
			}
			keys = append(keys, dedup.KeyOf(bl.ContentID))
		}
		ledger.Remember(keys, now)
	}
	if err := errors.Join(ledger.Flush(func() error { return nil }), ledger.Close()); err != nil {
		return r, err
	}
	srv.SetFaults(emulator.Faults{Latency: latency})

	report := filepath.Join(w.dir, "rusage.json")
	cmd := exec.Command(b.self, "measure", "-report", report, "--", b.bin, "--config", w.config, "audit", "--summary", "json")
	cmd.Dir = w.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + w.dir, "SSL_CERT_FILE=" + w.ca, "O365_LOG_LEVEL=WARNING", "TMPDIR=" + w.dir}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if os.Getenv("O365BENCH_STDERR") != "" {
		cmd.Stderr = io.MultiWriter(&stderr, os.Stderr)
	}
	runErr := cmd.Run() // exit code 1: blobs are missing, as they should be
	var m usage
	data, err := os.ReadFile(report)
	if err == nil {
		err = json.Unmarshal(data, &m)
	}
	if err != nil {
		return r, fmt.Errorf("audit: %v (%v)\n%s", err, runErr, tail(stderr.String(), 2000))
	}
	r.wall, r.user, r.sys, r.maxRSS = m.Wall, m.User, m.Sys, m.MaxRSS
	for _, q := range srv.Requests() {
		if q.Kind != "discovery" && q.Kind != "token" {
			r.apiRequests++
		}
	}
	var got struct {
		Total struct{ Listed, Written, Missing int } `json:"total"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		return r, fmt.Errorf("audit --summary json: %v (%v)\n%s", err, runErr, tail(stderr.String()+stdout.String(), 2000))
	}
	r.records = got.Total.Listed
	if want := n * len(w.types); got.Total.Listed != want || got.Total.Missing != missing || got.Total.Written != want-missing {
		return r, fmt.Errorf("audit listed %d, written %d, missing %d; want %d, %d, %d\n%s", got.Total.Listed, got.Total.Written,
			got.Total.Missing, want, want-missing, missing, tail(stderr.String(), 2000))
	}
	if strings.Contains(stderr.String(), "level=ERROR") {
		return r, fmt.Errorf("audit logged errors:\n%s", tail(stderr.String(), 2000))
	}
	return r, nil
}
