package media

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

const simComment = "ivssim:person=12;actions=1,3"

// lavfi returns ffmpeg input arguments for a test pattern.
func lavfi(size string, rate, seconds string) []string {
	return []string{"-f", "lavfi", "-i", "testsrc=size=" + size + ":rate=" + rate, "-t", seconds}
}

func TestVideos(t *testing.T) {
	requireFFmpeg(t)
	x264 := []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	cases := []struct {
		name     string
		file     string
		args     []string
		mutate   func([]byte) []byte
		remux    []string // second ffmpeg pass over the first output (stream copy with metadata)
		trim     bool
		code     string // expected rejection
		pass     bool   // expected pass-through
		wantSize [2]int // expected output width×height, if set
		comment  bool   // the simulator comment must survive
		wantFPS  float64
		aimed    bool // camera-like content: the transcode must land inside the recommended 200 KB – 2 MB
	}{
		{name: "mp4 h264", file: "a.mp4", args: cat(lavfi("320x240", "25", "2"), x264), pass: true},
		{name: "mov hevc", file: "a.mov", args: cat(lavfi("320x240", "25", "2"),
			[]string{"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-tag:v", "hvc1", "-pix_fmt", "yuv420p"}), pass: true},
		// Old QuickTime files start with a free, wide, mdat or moov atom:
		// ffmpeg's ftyp box turned into padding keeps every offset.
		{name: "quicktime starting with a free atom", file: "q.mov", args: cat(lavfi("320x240", "25", "2"), x264),
			mutate: func(b []byte) []byte { return append(append(b[:4:4], "free"...), b[8:]...) }, pass: true},
		{name: "webm vp8", file: "a.webm", args: cat(lavfi("320x240", "25", "2"), []string{"-c:v", "libvpx", "-b:v", "300k", "-deadline", "realtime"}), pass: true},
		{name: "webm vp9", file: "b.webm", args: cat(lavfi("320x240", "25", "2"), []string{"-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-b:v", "300k", "-deadline", "realtime", "-cpu-used", "8"}), pass: true},
		{name: "flv h264", file: "a.flv", args: cat(lavfi("320x240", "25", "2"), x264), pass: true},
		{name: "avi mpeg4 transcoded with comment", file: "a.avi", args: cat(lavfi("320x240", "25", "2"),
			[]string{"-c:v", "mpeg4", "-metadata", "comment=" + simComment}), comment: true, wantSize: [2]int{320, 240}},
		{name: "asf wmv2 transcoded", file: "a.asf", args: cat(lavfi("320x240", "25", "2"), []string{"-c:v", "wmv2"})},
		{name: "3gp h263 transcoded", file: "a.3gp", args: cat(lavfi("176x144", "15", "2"), []string{"-c:v", "h263"}), wantSize: [2]int{176, 144}},
		{name: "60 fps transcoded with comment", file: "b.mp4", args: cat(lavfi("320x240", "60", "2"), x264,
			[]string{"-metadata", "comment=" + simComment}), comment: true},
		{name: "rotated 90 transcoded upright", file: "r.mp4", args: cat(lavfi("320x240", "25", "2"), x264),
			remux: []string{"-c", "copy", "-metadata:s:v", "rotate=90"}, wantSize: [2]int{240, 320}},
		{name: "vp9 rgb transcoded", file: "c.webm", args: cat(lavfi("320x240", "25", "2"), []string{"-c:v", "libvpx-vp9", "-b:v", "300k", "-deadline", "realtime", "-cpu-used", "8"})},
		{name: "big 60 fps scaled to 720", file: "c.mp4", args: cat(lavfi("1600x1200", "60", "1.5"), x264), wantSize: [2]int{960, 720}},
		{name: "0.5 s", file: "s.mp4", args: cat(lavfi("320x240", "25", "0.5"), x264), code: CodeVideoTooShort},
		{name: "20 s", file: "l.mp4", args: cat(lavfi("160x120", "10", "20"), x264), code: CodeVideoTooLong},
		{name: "20 s trimmed", file: "l.mp4", args: cat(lavfi("320x240", "10", "20"), x264), trim: true},
		{name: "truncated faststart mp4", file: "t.mp4", args: cat(lavfi("320x240", "25", "3"), x264, []string{"-movflags", "+faststart"}),
			mutate: func(b []byte) []byte { return b[:len(b)*6/10] }, code: CodeCorruptVideo},
		{name: "truncated mp4", file: "u.mp4", args: cat(lavfi("320x240", "25", "3"), x264),
			mutate: func(b []byte) []byte { return b[:len(b)*6/10] }, code: CodeCorruptVideo},
		{name: "grainy 60 fps transcoded inside 200 KB – 2 MB", file: "g.mp4", args: cat([]string{"-f", "lavfi", "-i",
			"testsrc2=size=640x480:rate=60:duration=3,noise=alls=12:allf=t"}, x264), aimed: true, wantFPS: 25},
		{name: "5 fps transcoded to 25 fps", file: "f5.mp4", args: cat(lavfi("320x240", "5", "3"), x264), wantFPS: 25},
		{name: "0.5 s of video in 3 s of audio", file: "va.mp4", args: cat([]string{"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=0.5",
			"-f", "lavfi", "-i", "sine=d=3", "-c:a", "aac"}, x264), code: CodeVideoTooShort},
		{name: "3 s of video in 20 s of audio transcoded", file: "vb.mp4", args: cat([]string{"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=3",
			"-f", "lavfi", "-i", "sine=d=20", "-c:a", "aac"}, x264), wantFPS: 25},
		{name: "audio only", file: "a.m4a", args: []string{"-f", "lavfi", "-i", "sine=d=3", "-c:a", "aac", "-f", "mp4"}, code: CodeNotVideo},
		{name: "jpeg is not a video", file: "i.jpg", args: []string{"-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1"}, code: CodeNotVideo},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			data := ffmpegGen(t, dir, c.file, c.args...)
			if c.remux != nil {
				data = ffmpegGen(t, dir, "remux-"+c.file, append([]string{"-i", filepath.Join(dir, c.file)}, c.remux...)...)
			}
			if c.mutate != nil {
				data = c.mutate(data)
			}
			got, err := New(Config{TrimVideo: c.trim}).Prepare(context.Background(), pipeline.MediaVideo, data)
			if c.code != "" {
				if ErrorCode(err) != c.code {
					t.Fatalf("got %v, want rejection %s", err, c.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s", c.name, got.Note)
			if passed := got.Note == "passed through"; passed != c.pass {
				t.Errorf("passed through = %v, want %v", passed, c.pass)
			}
			res := checkVideo(t, got.Data)
			if !c.pass && (res.codec != "h264" || res.container != "mp4" || res.rotation != 0) {
				t.Errorf("transcoded to %s/%s rotation %d", res.codec, res.container, res.rotation)
			}
			if c.wantSize != [2]int{} && [2]int{res.width, res.height} != c.wantSize {
				t.Errorf("output %d×%d, want %d×%d", res.width, res.height, c.wantSize[0], c.wantSize[1])
			}
			if c.wantFPS != 0 && (res.fps < c.wantFPS-0.01 || res.fps > c.wantFPS+0.01) {
				t.Errorf("output %.2f fps, want %.0f", res.fps, c.wantFPS)
			}
			if !c.pass && (len(got.Data) > 2<<20 || (c.aimed && len(got.Data) < 200<<10)) {
				t.Errorf("transcoded to %s, outside the recommended 200 KB – 2 MB", formatBytes(len(got.Data)))
			}
			if c.comment && res.comment != simComment {
				t.Errorf("comment tag %q, want %q", res.comment, simComment)
			}
			if c.trim && res.duration > MaxVideoSeconds {
				t.Errorf("trimmed to %.2f s", res.duration)
			}
		})
	}
}

func TestRandomBytesNotVideo(t *testing.T) {
	requireFFmpeg(t)
	data := make([]byte, 64<<10)
	rand.Read(data)
	_, err := New(Config{}).Prepare(context.Background(), pipeline.MediaVideo, data)
	if ErrorCode(err) != CodeNotVideo {
		t.Fatalf("got %v, want %s", err, CodeNotVideo)
	}
	pdf := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	if _, err = New(Config{}).Prepare(context.Background(), pipeline.MediaVideo, pdf); ErrorCode(err) != CodeNotVideo {
		t.Fatalf("pdf: got %v, want %s", err, CodeNotVideo)
	}
	_, err = New(Config{}).Prepare(context.Background(), pipeline.MediaVideo, nil)
	if ErrorCode(err) != CodeEmpty {
		t.Fatalf("got %v, want %s", err, CodeEmpty)
	}
}
