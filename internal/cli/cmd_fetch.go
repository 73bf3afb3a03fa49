package cli

import (
	"context"
	"log/slog"
	"time"

	"github.com/o365logfetch/o365logfetch/internal/config"
	"github.com/o365logfetch/o365logfetch/internal/fetch"
	"github.com/o365logfetch/o365logfetch/internal/state"
)

// fetch runs one fetch: a cron run, or a backfill when bf is set.
func (a App) fetch(ctx context.Context, cfg *config.Config, bf backfill) error {
	s, err := a.connect(cfg)
	if err != nil {
		return err
	}
	defer s.close()
	lock, err := state.Lock(cfg.StateDir)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	store, err := state.Open(cfg.StateDir)
	if err != nil {
		return err
	}
	if end, ok := store.Legacy(); ok {
		s.log.Info("no state file yet: continuing from the previous tool's time.log", "end", end)
	}
	s.log.Info("run started", "config", cfg.File, "content_types", cfg.ContentTypes, "backfill", !bf.Start.IsZero())
	res, err := fetch.Run(ctx, fetch.Options{
		API:             s.api,
		Store:           store,
		OutDir:          cfg.BaseLogDir,
		SpoolDir:        cfg.StateDir,
		Types:           cfg.ContentTypes,
		AutoStart:       cfg.AutoStart,
		Workers:         cfg.Workers,
		InitialLookback: cfg.InitialLookback,
		Overlap:         cfg.Overlap,
		Start:           bf.Start,
		End:             bf.End,
		Now:             a.Now,
		Log:             s.log,
	})
	if res != nil {
		logSummary(s.log, res)
	}
	return err
}

func logSummary(log *slog.Logger, res *fetch.Result) {
	var blobs, failed int
	var records, bytes int64
	for _, t := range res.Types {
		blobs += t.Fetched
		failed += len(t.Failed)
		records += t.Records
		bytes += t.Bytes
	}
	log.Info("run finished", "blobs", blobs, "failed", failed, "records", records, "bytes", bytes,
		"duration", res.Duration.Round(time.Millisecond).String())
}
