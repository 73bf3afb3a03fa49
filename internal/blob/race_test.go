//go:build race

package blob

// The race detector makes sync.Pool drop items at random, so allocation counts vary.
const raceEnabled = true
