// Package layout names every file o365logfetch keeps on disk: the output files under
// baseLogLocation, the debug log, and the state, lock, index and ledger files under
// timeKeeperLocation, with the prefixes of its temporary files. Forwarders, logrotate rules
// and monitoring depend on these names: change one only with a migration.
package layout

const (
	// OutputExt ends every output file: <baseLogLocation>/<ContentType>.log.
	OutputExt = ".log"
	// DebugLog is the run log under debugLogLocation.
	DebugLog = "debug.log"

	// StateFile is the progress (the timekeeper) under timeKeeperLocation.
	StateFile = "o365logfetch-state.json"
	// LegacyStateFile is the previous tool's watermark (epoch seconds as text), read when no
	// StateFile exists yet.
	LegacyStateFile = "time.log"
	// LockFile is the run lock under timeKeeperLocation.
	LockFile = "o365logfetch.lock"
	// RecordIndex holds the Ids of records written lately, under timeKeeperLocation.
	RecordIndex = "o365logfetch-records.idx"
	// BlobLedger holds the blobs written while Microsoft may still list them, under
	// timeKeeperLocation.
	BlobLedger = "o365logfetch-blobs.idx"

	// SpoolPattern names a blob's lines spilled to disk before they are appended
	// (os.CreateTemp pattern, under timeKeeperLocation).
	SpoolPattern = ".o365logfetch-spool-*"
	// IndexRunPattern names the sorted run a record index is rebuilt from.
	IndexRunPattern = ".o365logfetch-records-run-*"
	// ProbePattern names the empty file that tests whether a directory is writable.
	ProbePattern = ".o365logfetch-probe-*"
)

// Output is the file name of the output file named name (a content type, or its name as
// [ContentTypes] spells it).
func Output(name string) string { return name + OutputExt }

// StateFiles are the files a run writes under timeKeeperLocation (temporary files aside).
func StateFiles() []string {
	return []string{StateFile, LockFile, RecordIndex, BlobLedger}
}
