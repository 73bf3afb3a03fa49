//go:build unix

package localfs

import "syscall"

var faultErrnos = []error{syscall.ENOSPC, syscall.EDQUOT, syscall.EROFS, syscall.EIO}
