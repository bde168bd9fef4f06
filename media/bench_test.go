package media

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// phoneJPEG is a 12 MP (4032×3024 displayed) camera-like JPEG stored
// 3024×4032 with EXIF orientation 6, as phones held upright write it.
func phoneJPEG(b *testing.B) []byte {
	b.Helper()
	phoneOnce.Do(func() {
		img := photo(4032, 3024, 8)
		rot := orient(toRGBA(img, 4032, 3024), 8) // stored = rotated counter-clockwise
		phoneData = withOrientation(encJPEG(b, rot, 92), 6, false)
	})
	return phoneData
}

var (
	phoneOnce sync.Once
	phoneData []byte
)

func benchImage(b *testing.B, kind pipeline.MediaKind, data []byte) {
	p := New(Config{})
	ctx := context.Background()
	var out pipeline.Prepared
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var err error
			if out, err = p.Prepare(ctx, kind, data); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	b.Logf("%s", out.Note)
}

func BenchmarkPassThroughJPEG(b *testing.B) {
	data := encJPEG(b, photo(1440, 1080, 6), 85) // 1.5 MP
	benchImage(b, pipeline.MediaIDCardImage, data)
}

func BenchmarkPhoneToCard(b *testing.B) {
	benchImage(b, pipeline.MediaIDCardImage, phoneJPEG(b))
}

func BenchmarkPhoneToFace(b *testing.B) {
	benchImage(b, pipeline.MediaFaceImage, phoneJPEG(b))
}

// BenchmarkDjpegCjpeg is the reference for the phone benchmarks: libjpeg's
// own tools, decode scaled in the DCT domain and re-encode at q85 (no
// rotation, no size search), one pipeline per core.
func BenchmarkDjpegCjpeg(b *testing.B) {
	requireTools(b, "djpeg", "cjpeg", "sh")
	in := filepath.Join(b.TempDir(), "phone.jpg")
	if err := os.WriteFile(in, phoneJPEG(b), 0o600); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, scale string }{{"card", "1/2"}, {"face", "1/4"}} {
		b.Run(c.name, func(b *testing.B) {
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					cmd := exec.Command("sh", "-c", "djpeg -scale "+c.scale+" "+in+" | cjpeg -quality 85 >/dev/null")
					if out, err := cmd.CombinedOutput(); err != nil {
						b.Errorf("%v: %s", err, out)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// video10s1080p is a 10 s 1080p30 H.264 video at ~15 Mbit/s.
func video10s1080p(b *testing.B, dir string) string {
	ffmpegGen(b, dir, "in1080.mp4", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30", "-t", "10",
		"-c:v", "libx264", "-preset", "ultrafast", "-b:v", "15M", "-maxrate", "15M", "-bufsize", "15M", "-pix_fmt", "yuv420p")
	return filepath.Join(dir, "in1080.mp4")
}

// video15s4K is a 15 s 2160p30 HEVC phone-like video at ~20 Mbit/s.
func video15s4K(b *testing.B, dir string) string {
	ffmpegGen(b, dir, "in4k.mp4", "-f", "lavfi", "-i", "testsrc2=size=3840x2160:rate=30", "-t", "15",
		"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-b:v", "20M", "-tag:v", "hvc1", "-pix_fmt", "yuv420p")
	return filepath.Join(dir, "in4k.mp4")
}

func benchVideo(b *testing.B, gen func(*testing.B, string) string) {
	requireFFmpeg(b)
	dir := b.TempDir()
	in := gen(b, dir)
	data, err := os.ReadFile(in)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("media", func(b *testing.B) {
		p := New(Config{})
		var out pipeline.Prepared
		for b.Loop() {
			var err error
			if out, err = p.Prepare(context.Background(), pipeline.MediaVideo, data); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/video")
		b.Logf("%s", out.Note)
	})
	// The plain command a person would write: same size and codec, no tuning.
	b.Run("ffmpeg-veryfast", func(b *testing.B) {
		for b.Loop() {
			ffmpegGen(b, dir, "plain.mp4", "-i", in, "-an", "-vf", "scale=-2:720", "-c:v", "libx264", "-preset", "veryfast",
				"-pix_fmt", "yuv420p")
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/video")
	})
}

func BenchmarkVideo1080p(b *testing.B) { benchVideo(b, video10s1080p) }

func BenchmarkVideo4KHEVC(b *testing.B) { benchVideo(b, video15s4K) }
