//go:build unix

package sink

import "os"

// appendFlag opens output files in append mode: ftruncate, pread and fsync still work on them.
const appendFlag = os.O_APPEND
