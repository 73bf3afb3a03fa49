//go:build !unix

package sink

// appendFlag is 0 where an append-mode handle cannot be truncated (Windows opens it without
// write access to the data), which undoing a failed blob needs. Append seeks to the end under
// the writer's lock instead; copytruncate rotation, the case append mode guards against, is a
// logrotate mode of Unix systems.
const appendFlag = 0
