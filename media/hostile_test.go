package media

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/media/mediatest"
	"github.com/ivsbatch/ivsbatch/media/tool"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// victimVideos makes, with ffmpeg, a liveness video that lies in its own
// directory (outside anything an upload may reach) and, beside the test,
// what an attacker would upload as the "video" instead: HLS playlists that
// point at it with file:// URLs and with plain paths (MPEG-TS and fragmented
// MP4 segments), an ffconcat list, an SDP description and a frame of an
// image sequence. It returns the victims' directory and the uploads by name.
func victimVideos(t *testing.T) (victims string, uploads map[string][]byte) {
	t.Helper()
	victims, mine := t.TempDir(), t.TempDir()
	src := []string{"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}
	gen := func(args ...string) {
		full := append(append([]string{"-nostdin", "-v", "error"}, src...), args...)
		if out, err := exec.Command("ffmpeg", full...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
	}
	gen("-f", "hls", "-hls_segment_filename", filepath.Join(victims, "ts%d.ts"), "-hls_base_url", "file://"+victims+"/",
		"-y", filepath.Join(mine, "file-url.m3u8"))
	gen("-f", "hls", "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
		"-hls_segment_filename", filepath.Join(victims, "frag%d.m4s"), "-hls_base_url", victims+"/",
		"-y", filepath.Join(mine, "plain-path.m3u8"))
	gen("-f", "segment", "-segment_time", "1", "-segment_list_type", "ffconcat",
		"-segment_list", filepath.Join(mine, "list.ffconcat"), "-segment_list_entry_prefix", victims+"/",
		"-y", filepath.Join(victims, "part%d.mp4"))
	gen("-f", "rtp", "-sdp_file", filepath.Join(mine, "stream.sdp"), "rtp://127.0.0.1:9")
	gen("-f", "image2", "-y", filepath.Join(mine, "frame%03d.jpg"))
	uploads = map[string][]byte{}
	for _, f := range []string{"file-url.m3u8", "plain-path.m3u8", "list.ffconcat", "stream.sdp", "frame001.jpg"} {
		data, err := os.ReadFile(filepath.Join(mine, f))
		if err != nil {
			t.Fatal(err)
		}
		uploads[f] = data
	}
	for name, want := range map[string]string{"file-url.m3u8": "file://" + victims + "/ts0.ts",
		"plain-path.m3u8": victims + "/frag", "list.ffconcat": victims + "/part0.mp4"} {
		if !strings.Contains(string(uploads[name]), want) {
			t.Fatalf("%s does not point at the victim (%s):\n%s", name, want, uploads[name])
		}
	}
	// The same playlist behind a real MP4's ftyp box: it claims to be an
	// MP4, so it is read as one (and nothing else).
	mp4 := ffmpegGen(t, mine, "real.mp4", src...)
	ftyp := int(binary.BigEndian.Uint32(mp4))
	uploads["playlist behind ftyp"] = append(mp4[:ftyp:ftyp], uploads["file-url.m3u8"]...)
	return victims, uploads
}

// A playlist, a concat list, an SDP description or an image sent as a
// video is media.not_video without any tool reading it, and the video they
// point at is never opened, under Landlock and with rlimits alone (the
// magic bytes and the forced demuxer stop it before the sandbox has to).
func TestPlaylistsNeverFollowed(t *testing.T) {
	requireFFmpeg(t)
	t.Parallel()
	victims, uploads := victimVideos(t)
	watch := mediatest.WatchOpens(t, victims)
	for _, sb := range []tool.Sandbox{tool.Landlock, tool.RlimitsOnly} {
		p := New(Config{Tools: tool.Config{Sandbox: sb}})
		for name, data := range uploads {
			_, err := p.Prepare(context.Background(), pipeline.MediaVideo, data)
			want := CodeNotVideo
			if name == "playlist behind ftyp" {
				want = CodeCorruptVideo // an MP4 that does not parse
			}
			if ErrorCode(err) != want {
				t.Errorf("%s, sandbox %s: got %v, want %s", name, sb, err, want)
			}
			if strings.HasSuffix(name, ".m3u8") && !strings.Contains(err.Error(), "HLS playlist") {
				t.Errorf("%s: message %q does not say what it is", name, err)
			}
			if seen := watch.Seen(t); len(seen) > 0 {
				t.Fatalf("%s, sandbox %s: the victim's files were touched: %q", name, sb, seen)
			}
		}
	}
	// The watch sees what ffprobe does when it guesses the format: the
	// playlist is followed and the victim opened.
	dir := t.TempDir()
	playlist := filepath.Join(dir, "face.mp4")
	if err := os.WriteFile(playlist, uploads["file-url.m3u8"], 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ffprobe", "-v", "error", playlist).CombinedOutput(); err != nil {
		t.Fatalf("plain ffprobe of the playlist: %v\n%s", err, out)
	}
	if seen := watch.Seen(t); len(seen) == 0 {
		t.Fatal("plain ffprobe followed the playlist but the watch saw nothing: the check above proves nothing")
	}
}

// Stand-ins for ffprobe and ffmpeg (Config.FFprobe, Config.FFmpeg) write the
// environment they were given, then run the real tools: across a probe, a
// transcode and a decode check none holds a secret of the worker's.
func TestToolsSeeNoSecret(t *testing.T) {
	requireFFmpeg(t)
	secrets := map[string]string{"IVSBATCH_PII_KEYS": "k1:bWFzdGVyLWtleS1vZi1hbGwtcGVyc29uYWwtZGF0YQ==",
		"IVS_SK": "ivs-secret-key-material", "AWS_SECRET_ACCESS_KEY": "aws-secret-key-material"}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "environments")
	stand := func(name string) string {
		real, err := exec.LookPath(name)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		script := "#!/bin/sh\n{ echo \"== $0\"; tr '\\000' '\\n' < /proc/$$/environ; echo; } >> " + log + "\nexec " + real + " \"$@\"\n"
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// rlimits only: under Landlock the stand-ins could not write the log
	// outside their run's directory (media/tool's tests show that).
	p := New(Config{FFprobe: stand("ffprobe"), FFmpeg: stand("ffmpeg"), Tools: tool.Config{Sandbox: tool.RlimitsOnly}})
	data := ffmpegGen(t, dir, "in.avi", append(lavfi("320x240", "25", "2"), "-c:v", "mpeg4")...)
	got, err := p.Prepare(context.Background(), pipeline.MediaVideo, data)
	if err != nil || !strings.HasPrefix(got.Note, "transcoded") {
		t.Fatalf("prepare through the stand-ins: %q, %v", got.Note, err)
	}
	seen, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	runs := strings.Split(strings.TrimSpace(string(seen)), "== ")
	if len(runs) < 3 { // "", probe, transcode (and the decode check when it fails)
		t.Fatalf("the stand-ins ran %d times, want a probe and a transcode:\n%s", len(runs)-1, seen)
	}
	for _, run := range runs[1:] {
		lines := strings.Fields(run)
		if len(lines) != 2 || !strings.HasPrefix(lines[1], "PATH=") {
			t.Errorf("%s saw the environment %q, want PATH alone", lines[0], lines[1:])
		}
	}
	for k, v := range secrets {
		if strings.Contains(string(seen), k) || strings.Contains(string(seen), v) {
			t.Errorf("%s reached a media tool", k)
		}
	}
}

// A small file whose frames are huge (two 8192×8192 PNG frames in 0.4 MB, from ffmpeg)
// is stopped by the tool limits: the address-space and CPU limits as
// media.too_costly (they depend on the input alone, so a retry would end
// the same), the wall-clock deadline as an error that is not a rejection
// (the worker stores infra.prepare and retries: a loaded machine can be
// slow on a sound video).
func TestCostlyVideoStopped(t *testing.T) {
	requireFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	data := ffmpegGen(t, dir, "huge.avi", "-f", "lavfi", "-i", "color=c=red:size=8192x8192:rate=2", "-t", "1", "-c:v", "png")
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"memory", Config{Tools: tool.Config{Limits: tool.Limits{Memory: 768 << 20}}}, "memory"},
		{"cpu", Config{Tools: tool.Config{Limits: tool.Limits{CPU: time.Second}}}, "CPU time"},
		{"deadline", Config{TranscodeTimeout: 300 * time.Millisecond}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(c.cfg).Prepare(context.Background(), pipeline.MediaVideo, data)
			if c.want == "" {
				if !errors.Is(err, context.DeadlineExceeded) || ErrorCode(err) != "" {
					t.Fatalf("got %v, want the deadline as an error that is not a rejection", err)
				}
				return
			}
			if ErrorCode(err) != CodeTooCostly || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %s naming the %s limit", err, CodeTooCostly, c.want)
			}
		})
	}
}
