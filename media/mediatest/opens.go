// Package mediatest helps tests show what a media tool did to files it was
// not given: WatchOpens reports every open and read of watched paths, as the
// kernel saw them (inotify), so "the victim file was never opened" is
// checked, not assumed.
package mediatest

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Opens watches files and directories for opens and reads.
type Opens struct {
	fd    int
	paths map[int32]string // watch descriptor → path
}

// WatchOpens starts watching paths (files, or directories: then every file
// in them) for IN_OPEN and IN_ACCESS, until the test ends.
func WatchOpens(t testing.TB, paths ...string) *Opens {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("inotify: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	o := &Opens{fd: fd, paths: map[int32]string{}}
	for _, p := range paths {
		wd, err := unix.InotifyAddWatch(fd, p, unix.IN_OPEN|unix.IN_ACCESS)
		if err != nil {
			t.Fatalf("inotify watch %s: %v", p, err)
		}
		o.paths[int32(wd)] = p
	}
	return o
}

// Seen returns the opens and reads since the last call, one "open PATH" or
// "read PATH" a line, in order.
func (o *Opens) Seen(t testing.TB) []string {
	t.Helper()
	var seen []string
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(o.fd, buf)
		if errors.Is(err, unix.EAGAIN) {
			return seen
		}
		if err != nil {
			t.Fatalf("read inotify events: %v", err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := o.paths[ev.Wd]
			if ev.Len > 0 {
				raw := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
				name = filepath.Join(name, string(raw[:clen(raw)]))
			}
			what := "read"
			if ev.Mask&unix.IN_OPEN != 0 {
				what = "open"
			}
			if ev.Mask&(unix.IN_OPEN|unix.IN_ACCESS) != 0 {
				seen = append(seen, fmt.Sprintf("%s %s", what, name))
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

// clen is the length of the NUL-padded name in b.
func clen(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}
