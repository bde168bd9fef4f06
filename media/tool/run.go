// Package tool runs the media tools, ffprobe and ffmpeg, on bytes that came
// from outside: the media package and the IVS simulator run every one of
// them through Runner.Run. A run gets the least it needs:
//
//   - its input parsed only as what its magic bytes say (Sniff, InputArgs):
//     the demuxer forced, only the file protocol, no MOV data references, so
//     a playlist, a concat list or an image sequence is never opened;
//   - an environment of PATH alone (no data keys, no IVS or S3 secrets);
//   - resource limits set by prlimit(1) in the child before the tool starts:
//     CPU time, address space, size of a file it writes, open files, no
//     core dumps (a core would hold the upload);
//   - a wall-clock deadline, after which its process group is killed, and
//     death with the worker (parent-death signal);
//   - with Landlock (the default): read access only to the system's program
//     and library directories, read and write only in the run's directory,
//     no TCP (Landlock ABI ≥ 4), no signals or abstract sockets outside
//     (ABI ≥ 6), and no_new_privs.
//
// Go's os/exec cannot run code between fork and exec, and re-executing the
// worker binary as a launcher would cost a Go start-up per run and a hook in
// every main. Instead a fresh OS thread enters the Landlock domain, forks
// the tool (a child inherits the credentials, Landlock domain included, of
// the thread that forked it), waits for it and dies. rlimits belong to a
// process, not a thread, hence prlimit from util-linux, which sets them on
// itself and executes the tool.
package tool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Sandbox says how a run is confined beyond its limits and environment.
type Sandbox string

const (
	// Landlock confines a run's file access to the system directories
	// (read) and its own directory, and denies it TCP and signals. Runs
	// fail when the kernel lacks Landlock (Linux < 5.13, or not enabled).
	Landlock Sandbox = "landlock"
	// RlimitsOnly keeps the limits, the environment and the forced demuxer
	// but lets the tool open any file its user may read.
	RlimitsOnly Sandbox = "rlimits"
)

// Limits bound one run. Zero values take the defaults.
type Limits struct {
	CPU      time.Duration // CPU time, all threads together; default 2 min (whole seconds, rounded up)
	Memory   int64         // address space in bytes; default 4 GiB (a 4K HEVC transcode maps ~1 GiB on 2 cores)
	FileSize int64         // largest file the tool may write, in bytes; default 64 MiB
}

// Config configures a Runner. The zero value is usable.
type Config struct {
	Sandbox Sandbox // default Landlock
	Limits  Limits
	Prlimit string // prlimit executable; default "prlimit" from PATH
}

// Defaults of Config.
const (
	DefaultCPU      = 2 * time.Minute
	DefaultMemory   = 4 << 30
	DefaultFileSize = 64 << 20
	maxOpenFiles    = 256
	maxStdout       = 1 << 20 // ffprobe's JSON of a real video is a few KB
	maxStderr       = 4096
	toolPATH        = "PATH=/usr/local/bin:/usr/bin:/bin"
)

// withDefaults returns c with zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.Sandbox == "" {
		c.Sandbox = Landlock
	}
	if c.Limits.CPU <= 0 {
		c.Limits.CPU = DefaultCPU
	}
	if c.Limits.Memory <= 0 {
		c.Limits.Memory = DefaultMemory
	}
	if c.Limits.FileSize <= 0 {
		c.Limits.FileSize = DefaultFileSize
	}
	if c.Prlimit == "" {
		c.Prlimit = "prlimit"
	}
	return c
}

// ParseSandbox reads a Sandbox name: "landlock" or "rlimits".
func ParseSandbox(s string) (Sandbox, error) {
	switch sb := Sandbox(s); sb {
	case Landlock, RlimitsOnly:
		return sb, nil
	}
	return "", fmt.Errorf("unknown sandbox %q: want %q or %q", s, Landlock, RlimitsOnly)
}

// Runner runs media tools confined. It is safe for concurrent use.
type Runner struct{ cfg Config }

// New returns a Runner with cfg's defaults filled in.
func New(cfg Config) *Runner { return &Runner{cfg: cfg.withDefaults()} }

// Job is one run of a tool.
type Job struct {
	Tool    string        // executable: a name looked up in PATH, or a path
	Args    []string      // arguments; open the input with Container.InputArgs
	Dir     string        // working directory, the only one the tool may read or write under Landlock
	Timeout time.Duration // wall clock, required
}

// Output is what a finished run wrote.
type Output struct {
	Stdout []byte // at most 1 MiB
	Stderr string // the first 4 KB, trimmed
}

// ExitError means the tool ran and failed on its input: a non-zero exit, a
// crash, or more output than a real video makes.
type ExitError struct {
	Tool   string
	State  string // "exit status 1", "signal: segmentation fault", …
	Stderr string
}

func (e *ExitError) Error() string {
	if e.Stderr == "" {
		return e.Tool + ": " + e.State
	}
	return e.Tool + ": " + e.State + ": " + firstLine(e.Stderr)
}

// LimitError means a limit stopped the run: parsing the input costs more
// CPU time, memory or output than one run may use. The same input stops the
// same way again (unlike a wall-clock deadline, these do not depend on the
// machine's load), so it is the input's doing.
type LimitError struct {
	Tool     string
	Resource string // "CPU time", "memory", "file size"
	Limit    string // "2m0s", "4096 MiB"
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s stopped by its %s limit (%s)", e.Tool, e.Resource, e.Limit)
}

// Run runs j confined and returns its output. Errors: *ExitError when the
// tool failed on its input, *LimitError when a limit stopped it, the
// context's error (wrapped) when the deadline passed or ctx ended, and
// other errors when it could not be started (missing tool, no Landlock).
func (r *Runner) Run(ctx context.Context, j Job) (Output, error) {
	name := filepath.Base(j.Tool)
	if j.Timeout <= 0 || j.Dir == "" {
		return Output{}, fmt.Errorf("run %s: a job needs a timeout and a directory", name)
	}
	exe, err := exec.LookPath(j.Tool)
	if err != nil {
		return Output{}, fmt.Errorf("run %s: %w", name, err)
	}
	prlimit, err := exec.LookPath(r.cfg.Prlimit)
	if err != nil {
		return Output{}, fmt.Errorf("run %s: prlimit (util-linux) sets its limits: %w", name, err)
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		return Output{}, fmt.Errorf("run %s: %w", name, err)
	}
	defer null.Close()
	ctx, cancel := context.WithTimeout(ctx, j.Timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, prlimit, append(append(r.limitArgs(), "--", exe), j.Args...)...)
	cmd.Env = []string{toolPATH}
	cmd.Dir = j.Dir
	stdout, stderr := &capped{max: maxStdout}, &capped{max: maxStderr}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second

	started, err := r.startWait(cmd, []string{exe, prlimit}, j.Dir)
	out := Output{Stdout: stdout.buf.Bytes(), Stderr: strings.TrimSpace(stderr.buf.String())}
	switch {
	case !started:
		return out, fmt.Errorf("run %s: %w", name, err)
	case ctx.Err() != nil:
		return out, fmt.Errorf("%s: %w", name, ctx.Err())
	case err != nil:
		return out, r.classify(name, cmd.ProcessState, err, out.Stderr)
	case stdout.over:
		return out, &ExitError{Tool: name, State: fmt.Sprintf("wrote more than %d KB", maxStdout>>10), Stderr: out.Stderr}
	}
	return out, nil
}

// limitArgs are prlimit's options (soft limit = hard limit: at the CPU
// limit the kernel sends SIGKILL, which ffmpeg cannot turn into a clean
// exit as it does SIGXCPU).
func (r *Runner) limitArgs() []string {
	l := r.cfg.Limits
	cpu := strconv.FormatInt(int64((l.CPU+time.Second-1)/time.Second), 10)
	return []string{"--cpu=" + cpu, "--as=" + strconv.FormatInt(l.Memory, 10),
		"--fsize=" + strconv.FormatInt(l.FileSize, 10), "--nofile=" + strconv.Itoa(maxOpenFiles), "--core=0"}
}

// memoryMessages are what ffmpeg and its libraries print when an allocation
// fails (the address-space limit makes mmap and brk fail): a decoder's frame
// buffer ("get_buffer() failed"), x264's and libavutil's allocations.
var memoryMessages = []string{"Cannot allocate memory", "get_buffer() failed", "malloc of size", "std::bad_alloc", "out of memory"}

// classify turns a failed Wait into an *ExitError, a *LimitError, or (exit
// codes 126 and 127 of prlimit: the tool could not be executed) a plain
// error.
func (r *Runner) classify(name string, ps *os.ProcessState, err error, stderr string) error {
	var ee *exec.ExitError
	if ps == nil || !errors.As(err, &ee) {
		return fmt.Errorf("run %s: %w", name, err)
	}
	l := r.cfg.Limits
	ws, _ := ps.Sys().(syscall.WaitStatus)
	switch {
	// A SIGKILL that is not ours (ctx is not done) after half the CPU limit
	// is the limit's: the kernel kills at the limit, and the rusage a
	// parent sees may read a little under it (measured 0.86 s of 1 s).
	case ws.Signaled() && ws.Signal() == syscall.SIGKILL && ps.UserTime()+ps.SystemTime() >= l.CPU/2:
		return &LimitError{Tool: name, Resource: "CPU time", Limit: l.CPU.String()}
	case ws.Signaled() && ws.Signal() == syscall.SIGXFSZ:
		return &LimitError{Tool: name, Resource: "file size", Limit: fmt.Sprintf("%d MiB", l.FileSize>>20)}
	case ws.Exited() && (ws.ExitStatus() == 126 || ws.ExitStatus() == 127):
		return fmt.Errorf("run %s: could not execute it (exit %d): %s", name, ws.ExitStatus(), firstLine(stderr))
	}
	for _, m := range memoryMessages {
		if strings.Contains(stderr, m) {
			return &LimitError{Tool: name, Resource: "memory", Limit: fmt.Sprintf("%d MiB", l.Memory>>20)}
		}
	}
	return &ExitError{Tool: name, State: ps.String(), Stderr: stderr}
}

// Check runs a trivial program ("true") the way every tool runs, so that a
// missing prlimit or a kernel without Landlock is reported when a command
// starts rather than on the first video.
func (r *Runner) Check(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "ivsmedia-check-")
	if err != nil {
		return fmt.Errorf("media tools: %w", err)
	}
	defer os.RemoveAll(dir)
	if _, err := r.Run(ctx, Job{Tool: "true", Dir: dir, Timeout: 10 * time.Second}); err != nil {
		return fmt.Errorf("media tools cannot run in sandbox %q: %w", r.cfg.Sandbox, err)
	}
	return nil
}

// capped keeps the first max bytes written to it, so a chatty tool cannot
// use unbounded memory, and notes when more came.
type capped struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - c.buf.Len()
	if len(p) > room {
		c.over = true
	}
	if room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// firstLine returns the first line of s, at most 200 bytes.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
