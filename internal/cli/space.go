package cli

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/o365logfetch/o365logfetch/internal/config"
	"github.com/o365logfetch/o365logfetch/internal/localfs"
)

// warnLowSpace warns (stderr and debug.log) when the output or the state filesystem has less
// free space than [FETCH] minFreeSpaceMB: a full disk stops a run, better known before.
func warnLowSpace(log *slog.Logger, cfg *config.Config) {
	if cfg.MinFreeSpaceMB <= 0 {
		return
	}
	margin := int64(cfg.MinFreeSpaceMB) << 20
	for _, d := range []struct{ key, dir string }{
		{"baseLogLocation", cfg.BaseLogDir},
		{"timeKeeperLocation", cfg.StateDir},
	} {
		free, err := localfs.Free(d.dir)
		if errors.Is(err, errors.ErrUnsupported) {
			return
		}
		if err != nil {
			log.Warn("free space unknown", "key", d.key, "dir", d.dir, "error", err)
			continue
		}
		if free < margin {
			log.Warn(fmt.Sprintf("%s %s has %s free, less than minFreeSpaceMB (%d MiB): a full disk stops the run (exit code 5)",
				d.key, d.dir, localfs.FormatBytes(free), cfg.MinFreeSpaceMB), "free_bytes", free)
		}
	}
}
