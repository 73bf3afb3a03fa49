//go:build windows

package localfs

import "golang.org/x/sys/windows"

// Free is the number of bytes the calling user may still write to dir's volume (quotas
// included).
func Free(dir string) (int64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, err
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return 0, err
	}
	return int64(avail), nil
}
