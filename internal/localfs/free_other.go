//go:build !(linux || darwin || freebsd || windows)

package localfs

import "errors"

// Free is not known on this system: the free-space warnings are left out.
func Free(string) (int64, error) {
	return 0, errors.ErrUnsupported
}
