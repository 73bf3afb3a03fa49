//go:build unix

package sink

import (
	"os"
	"strconv"
	"syscall"
)

// FileID names a file by device and inode, which a rename keeps; "" when unknown.
func FileID(fi os.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return strconv.FormatUint(uint64(st.Dev), 10) + ":" + strconv.FormatUint(uint64(st.Ino), 10)
}
