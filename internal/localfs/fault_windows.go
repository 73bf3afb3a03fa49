//go:build windows

package localfs

import (
	"syscall"

	"golang.org/x/sys/windows"
)

var faultErrnos = []error{
	windows.ERROR_DISK_FULL,           // no space
	windows.ERROR_HANDLE_DISK_FULL,    // no space
	windows.ERROR_DISK_QUOTA_EXCEEDED, // quota
	windows.ERROR_WRITE_PROTECT,       // read-only medium
	windows.ERROR_IO_DEVICE,           // I/O error
	windows.ERROR_CRC,                 // data error on the medium
	syscall.ENOSPC,                    // what Go maps some of the above to
	syscall.EROFS,
	syscall.EIO,
}
