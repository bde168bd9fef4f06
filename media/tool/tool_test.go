package tool_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/media/mediatest"
	"github.com/ivsbatch/ivsbatch/media/tool"
)

// requireTools fails (never skips) when a tool these tests run is missing.
func requireTools(t *testing.T) {
	t.Helper()
	for _, exe := range []string{"ffmpeg", "ffprobe", "prlimit"} {
		if _, err := exec.LookPath(exe); err != nil {
			t.Fatalf("%s is required by these tests (scripts/deps.sh): %v", exe, err)
		}
	}
}

// ffmpeg runs the real ffmpeg (not through the code under test) to make a
// test input.
func ffmpeg(t *testing.T, args ...string) {
	t.Helper()
	full := append([]string{"-nostdin", "-v", "error", "-y"}, args...)
	if out, err := exec.Command("ffmpeg", full...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every container IVS accepts, as ffmpeg writes it, is recognised with the
// demuxer that reads it, and the confined ffprobe reads it that way; what
// is not one of them never reaches a tool.
func TestSniff(t *testing.T) {
	requireTools(t)
	t.Parallel()
	dir := t.TempDir()
	src := []string{"-f", "lavfi", "-i", "testsrc=size=176x144:rate=10", "-t", "1"}
	containers := []struct{ file, demuxer string }{
		{"a.mp4", "mov"}, {"a.mov", "mov"}, {"a.3gp", "mov"}, {"a.webm", "matroska"}, {"a.mkv", "matroska"},
		{"a.avi", "avi"}, {"a.flv", "flv"}, {"a.asf", "asf"}, {"a.wmv", "asf"},
	}
	r := tool.New(tool.Config{})
	for _, c := range containers {
		ffmpeg(t, append(src, filepath.Join(dir, c.file))...)
		data := read(t, filepath.Join(dir, c.file))
		got, ok := tool.Sniff(data)
		if !ok || got.Demuxer != c.demuxer {
			t.Errorf("%s: Sniff = %+v, %v; want demuxer %s", c.file, got, ok, c.demuxer)
			continue
		}
		work := t.TempDir()
		if err := os.WriteFile(filepath.Join(work, "in"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0"}, got.InputArgs("in")...)
		out, err := r.Run(context.Background(), tool.Job{Tool: "ffprobe", Args: args, Dir: work, Timeout: time.Minute})
		if err != nil || !strings.Contains(string(out.Stdout), "video") {
			t.Errorf("%s: confined ffprobe -f %s: %q, %v", c.file, c.demuxer, out.Stdout, err)
		}
	}

	// What ffmpeg itself writes besides containers: an HLS playlist, an
	// ffconcat list, an SDP description, frames of an image sequence, an
	// MPEG-TS stream (not an IVS container).
	ffmpeg(t, append(src, "-f", "hls", "-hls_segment_filename", filepath.Join(dir, "seg%d.ts"), filepath.Join(dir, "list.m3u8"))...)
	ffmpeg(t, append(src, "-f", "segment", "-segment_time", "0.5", "-segment_list_type", "ffconcat",
		"-segment_list", filepath.Join(dir, "list.ffconcat"), filepath.Join(dir, "part%d.mp4"))...)
	ffmpeg(t, append(src, "-c:v", "mpeg4", "-f", "rtp", "-sdp_file", filepath.Join(dir, "s.sdp"), "rtp://127.0.0.1:9")...)
	ffmpeg(t, append(src, "-f", "image2", filepath.Join(dir, "frame%03d.jpg"))...)
	ffmpeg(t, append(src, "-f", "image2", filepath.Join(dir, "frame%03d.png"))...)
	for _, f := range []string{"list.m3u8", "list.ffconcat", "s.sdp", "frame001.jpg", "frame002.png", "seg0.ts"} {
		if c, ok := tool.Sniff(read(t, filepath.Join(dir, f))); ok {
			t.Errorf("%s sniffed as %+v; it must never reach a media tool", f, c)
		}
	}
}

// With Landlock a tool opens nothing outside its directory, whatever its
// input asks for. An HLS playlist opened the unsafe way (format guessed,
// every protocol allowed) makes ffprobe open the segment it lists outside
// the directory when only rlimits confine it (the kernel reports the open:
// the watch works), and not under Landlock.
func TestLandlockKeepsToolsInTheirDirectory(t *testing.T) {
	requireTools(t)
	t.Parallel()
	victims, work := t.TempDir(), t.TempDir()
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc=size=176x144:rate=10", "-t", "2", "-f", "hls",
		"-hls_segment_filename", filepath.Join(victims, "victim%d.ts"), "-hls_base_url", "file://"+victims+"/",
		filepath.Join(work, "face.mp4"))
	if !strings.Contains(string(read(t, filepath.Join(work, "face.mp4"))), "file://"+victims+"/victim0.ts") {
		t.Fatalf("the playlist does not point at the victim:\n%s", read(t, filepath.Join(work, "face.mp4")))
	}
	watch := mediatest.WatchOpens(t, victims)
	unsafe := []string{"-v", "error", "-show_entries", "format=format_name", "-of", "csv=p=0", "face.mp4"}
	job := tool.Job{Tool: "ffprobe", Args: unsafe, Dir: work, Timeout: time.Minute}

	out, err := tool.New(tool.Config{Sandbox: tool.RlimitsOnly}).Run(context.Background(), job)
	if seen := watch.Seen(t); err != nil || len(seen) == 0 {
		t.Fatalf("without Landlock ffprobe should follow the playlist (%q, %v) and open the victim; seen %q", out.Stdout, err, seen)
	}
	out, err = tool.New(tool.Config{}).Run(context.Background(), job)
	if seen := watch.Seen(t); len(seen) > 0 {
		t.Fatalf("under Landlock the victim was touched: %q", seen)
	}
	var ee *tool.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("under Landlock ffprobe of the playlist: %q, %v; want it to fail reading the segment", out.Stdout, err)
	}
}

// A stand-in for ffprobe sees PATH and nothing else of the worker's
// environment. Under Landlock it cannot even write where it would tell.
func TestToolEnvironmentHoldsNoSecret(t *testing.T) {
	requireTools(t)
	secrets := map[string]string{"IVSBATCH_PII_KEYS": "k1:c2VjcmV0LWtleS1tYXRlcmlhbA==", "IVS_SK": "ivs-secret-sk",
		"AWS_SECRET_ACCESS_KEY": "aws-secret-access-key"}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	dir, work := t.TempDir(), t.TempDir()
	seen := filepath.Join(dir, "environ")
	fake := filepath.Join(dir, "ffprobe")
	script := "#!/bin/sh\ntr '\\000' '\\n' 2>/dev/null > " + seen + " < /proc/$$/environ\nexit 0\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	job := tool.Job{Tool: fake, Dir: work, Timeout: time.Minute}
	if _, err := tool.New(tool.Config{Sandbox: tool.RlimitsOnly}).Run(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	env := strings.Fields(string(read(t, seen)))
	if len(env) != 1 || !strings.HasPrefix(env[0], "PATH=") {
		t.Errorf("the tool's environment is %q, want PATH alone", env)
	}
	for k, v := range secrets {
		if strings.Contains(strings.Join(env, "\n"), v) || strings.Contains(strings.Join(env, "\n"), k) {
			t.Errorf("%s reached the tool", k)
		}
	}
	if err := os.Remove(seen); err != nil {
		t.Fatal(err)
	}
	if _, err := tool.New(tool.Config{}).Run(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(seen); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("under Landlock the tool wrote outside its directory (%v)", err)
	}
}

// Each limit ends a run that exceeds it, as a *LimitError; the wall-clock
// deadline ends it as the context's error, its whole process group killed.
func TestLimits(t *testing.T) {
	requireTools(t)
	t.Parallel()
	endless := []string{"-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"}
	cases := []struct {
		name     string
		limits   tool.Limits
		args     []string
		resource string
	}{
		{"CPU", tool.Limits{CPU: time.Second}, append(endless, "-f", "null", "-"), "CPU time"},
		{"file size", tool.Limits{FileSize: 1 << 20}, append(endless, "-f", "rawvideo", "file:out.raw"), "file size"},
		// An 8192×8192 frame needs more than 512 MiB of address space
		// with ffmpeg's libraries mapped.
		{"memory", tool.Limits{Memory: 512 << 20}, []string{"-nostdin", "-v", "error", "-f", "lavfi", "-i",
			"color=c=red:size=8192x8192", "-frames:v", "2", "-vf", "format=yuv444p", "-f", "null", "-"}, "memory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := tool.New(tool.Config{Limits: c.limits})
			_, err := r.Run(context.Background(), tool.Job{Tool: "ffmpeg", Args: c.args, Dir: t.TempDir(), Timeout: 2 * time.Minute})
			var le *tool.LimitError
			if !errors.As(err, &le) || le.Resource != c.resource {
				t.Fatalf("got %v, want the %s limit", err, c.resource)
			}
		})
	}
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		work := t.TempDir()
		fake := filepath.Join(t.TempDir(), "ffmpeg")
		if err := os.WriteFile(fake, []byte("#!/bin/sh\nsleep 300 &\necho $! > pid\nwait\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := tool.New(tool.Config{}).Run(context.Background(), tool.Job{Tool: fake, Dir: work, Timeout: 2 * time.Second})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want the deadline", err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(read(t, filepath.Join(work, "pid")))))
		if err != nil {
			t.Fatal(err)
		}
		// The tool's child, in its process group, was killed too: gone, or
		// a zombie until init reaps it, within a few seconds (SIGKILL is
		// delivered asynchronously).
		for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			state, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			if f := strings.Fields(string(state)); err != nil || (len(f) > 2 && f[2] == "Z") {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("the tool's child %d outlived the deadline: %s", pid, state)
			}
		}
	})
}

// Check reports a sandbox that cannot work before any input is at stake.
func TestCheck(t *testing.T) {
	requireTools(t)
	t.Parallel()
	if err := tool.New(tool.Config{}).Check(context.Background()); err != nil {
		t.Fatalf("Check on this machine (Landlock): %v", err)
	}
	if err := tool.New(tool.Config{Prlimit: "no-such-prlimit"}).Check(context.Background()); err == nil {
		t.Fatal("Check passed without prlimit")
	}
	if err := tool.New(tool.Config{Sandbox: "chroot"}).Check(context.Background()); err == nil {
		t.Fatal("Check passed with an unknown sandbox")
	}
}
