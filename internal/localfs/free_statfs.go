//go:build linux || darwin || freebsd

package localfs

import "golang.org/x/sys/unix"

// Free is the number of bytes an unprivileged user may still write to dir's filesystem.
func Free(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(uint64(st.Bavail) * uint64(st.Bsize)), nil
}
