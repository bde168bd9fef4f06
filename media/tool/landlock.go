package tool

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"

	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// What a confined run may read: programs, libraries and the loader's cache,
// the CPU topology (thread counts), and the random device. /proc is not
// readable: the worker's environment and memory stay out of reach.
var (
	systemDirs  = []string{"/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/sys/devices/system/cpu"}
	systemFiles = []string{"/etc/ld.so.cache", "/dev/urandom"}
)

// workAccess is what a run may do in its own directory: read its input,
// write its output (ffmpeg's -y truncates, +faststart rewrites the file).
const workAccess = landlock.AccessFSSet(ll.AccessFSReadFile | ll.AccessFSReadDir | ll.AccessFSWriteFile |
	ll.AccessFSMakeReg | ll.AccessFSRemoveFile | ll.AccessFSTruncate)

// landlockConfig is the newest Landlock ABI this library knows, lowered to
// what the kernel supports: every file, network and scope right it has is
// handled, so whatever no rule grants is denied.
var landlockConfig = landlock.V11.BestEffort()

// ruleset returns a Landlock ruleset that lets a run execute the
// executables exes and read the system directories, and work in dir.
func ruleset(exes []string, dir string) (fd int, flags uint32, err error) {
	fd, flags, err = landlockConfig.NewRulesetFD(
		landlock.RODirs(systemDirs...).IgnoreIfMissing(),
		landlock.ROFiles(append(exes, systemFiles...)...).IgnoreIfMissing(),
		landlock.RWFiles("/dev/null").IgnoreIfMissing(),
		landlock.PathAccess(workAccess, dir),
	)
	if err != nil {
		return -1, 0, fmt.Errorf("landlock ruleset: %w", err)
	}
	if fd < 0 {
		return -1, 0, errors.New("this kernel has no Landlock (Linux ≥ 5.13 with landlock in its LSM list)")
	}
	return fd, flags, nil
}

// startWait starts cmd and waits for it on a fresh OS thread that first
// sets no_new_privs and, under Landlock, enters the run's Landlock domain,
// which the child inherits. The thread is never given back to the Go
// scheduler: it ends with this run, so nothing else ever runs confined, and
// it outlives the child, whose parent-death signal is tied to it. started
// is false when cmd could not be started.
func (r *Runner) startWait(cmd *exec.Cmd, exes []string, dir string) (started bool, err error) {
	fd := -1
	var flags uint32
	switch r.cfg.Sandbox {
	case Landlock:
		if fd, flags, err = ruleset(exes, dir); err != nil {
			return false, err
		}
		defer unix.Close(fd)
	case RlimitsOnly:
	default:
		return false, fmt.Errorf("unknown sandbox %q", r.cfg.Sandbox)
	}
	type result struct {
		started bool
		err     error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			done <- result{err: fmt.Errorf("no_new_privs: %w", err)}
			return
		}
		if fd >= 0 {
			if err := ll.LandlockRestrictSelf(fd, flags); err != nil {
				done <- result{err: fmt.Errorf("landlock_restrict_self: %w", err)}
				return
			}
		}
		if err := cmd.Start(); err != nil {
			done <- result{err: err}
			return
		}
		done <- result{started: true, err: cmd.Wait()}
	}()
	res := <-done
	return res.started, res.err
}
