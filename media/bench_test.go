package media

import (
	"context"
	"os"
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

func BenchmarkVideo1080p(b *testing.B) {
	if testing.Short() {
		b.Skip("slow: generates and transcodes a 1080p video")
	}
	requireFFmpeg(b)
	dir := b.TempDir()
	data := ffmpegGen(b, dir, "in.mp4", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30", "-t", "10",
		"-c:v", "libx264", "-preset", "ultrafast", "-b:v", "15M", "-maxrate", "15M", "-bufsize", "15M", "-pix_fmt", "yuv420p")
	p := New(Config{})
	var out pipeline.Prepared
	b.ResetTimer()
	for b.Loop() {
		var err error
		if out, err = p.Prepare(context.Background(), pipeline.MediaVideo, data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/video")
	b.Logf("%s", out.Note)
	_ = os.WriteFile(filepath.Join(dir, "out.mp4"), out.Data, 0o600)
}
