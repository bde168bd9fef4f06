package pii

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// ErrKeyFileMode is the refusal of a key file others can read.
var ErrKeyFileMode = errors.New("a key file others cannot read")

// ReadKeyFile reads the key file path after checking who may read it: nobody but its owner and, for a file owned by
// another user than this process's, its group. So a file of one's own must
// be 0600 (or 0400), and a file others can read is refused whoever owns it.
// A file owned by someone else (root) and readable by its group is how a
// Kubernetes secret volume with an fsGroup (mode 0440) and a container's
// bind mount shared through a group grant this process read access. As
// PostgreSQL does with its TLS key, the refusal (ErrKeyFileMode) names the
// file and the fix.
func ReadKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path) // a secret volume's file is a symlink: its target counts
	if err != nil {
		return nil, err
	}
	if err := checkKeyFileMode(path, fi, os.Getuid()); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFileMode, err)
	}
	return os.ReadFile(path)
}

// checkKeyFileMode is ReadKeyFile's rule for a file fi at path, for a
// process running as uid.
func checkKeyFileMode(path string, fi fs.FileInfo, uid int) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("key file %s is not a regular file", path)
	}
	perm := fi.Mode().Perm()
	owner := -1
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		owner = int(st.Uid)
	}
	switch {
	case perm&0o007 != 0:
		return fmt.Errorf("key file %s can be read by other users (mode %04o): run chmod 600 %s", path, perm, path)
	case perm&0o070 != 0 && (owner == uid || perm&0o030 != 0):
		return fmt.Errorf("key file %s gives its group access (mode %04o): run chmod 600 %s (a group may only read a key file owned by another user, such as a secret volume's)",
			path, perm, path)
	}
	return nil
}
