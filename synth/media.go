package synth

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ivsbatch/ivsbatch/synth/tag"
)

// ImageOptions controls FaceJPEG and IDCardJPEG. Zero values take defaults.
type ImageOptions struct {
	Width, Height int // pixels; face default 640×800, card default 1000×630
	Quality       int // JPEG quality 1–100; default 85
	Noise         int // noise amplitude 0–255 (more noise, larger files); default 12 face, 24 card
}

// Side selects the face of an id card.
type Side int

// Card sides: the front carries the portrait and personal data (人像面),
// the back the issuing office and validity (国徽面).
const (
	Front Side = iota
	Back
)

// VideoOptions controls Video. Zero values take defaults.
type VideoOptions struct {
	Duration  time.Duration // default 3 s
	FPS       int           // default 25
	Width     int           // default 480
	Height    int           // default 640
	Container string        // ffmpeg muxer name: default "mp4"; also "avi", "flv", "webm", "mov", "asf"
	Codec     string        // ffmpeg encoder: default "libx264"
	FFmpeg    string        // ffmpeg binary; default "ffmpeg" from PATH
	Timeout   time.Duration // upper bound for the ffmpeg run; default 60 s
}

// FaceJPEG draws a face picture of p carrying a tag.KindFace code.
func FaceJPEG(p Person, opts ImageOptions) ([]byte, error) {
	opts = imageDefaults(opts, 640, 800, 12)
	return Picture(opts, &tag.Tag{Kind: tag.KindFace, Person: p.Index})
}

// IDCardJPEG draws one side of p's id card carrying a tag.KindIDCardFront or
// tag.KindIDCardBack code.
func IDCardJPEG(p Person, side Side, opts ImageOptions) ([]byte, error) {
	opts = imageDefaults(opts, 1000, 630, 24)
	kind := tag.KindIDCardFront
	if side == Back {
		kind = tag.KindIDCardBack
	}
	return Picture(opts, &tag.Tag{Kind: kind, Person: p.Index})
}

func imageDefaults(o ImageOptions, w, h, noise int) ImageOptions {
	if o.Width == 0 {
		o.Width = w
	}
	if o.Height == 0 {
		o.Height = h
	}
	if o.Quality == 0 {
		o.Quality = 85
	}
	if o.Noise == 0 {
		o.Noise = noise
	}
	return o
}

// Picture draws a gradient with deterministic noise of the given size and,
// when t is not nil, the tag t, and encodes it as JPEG.
func Picture(o ImageOptions, t *tag.Tag) ([]byte, error) {
	if o.Width <= 0 || o.Height <= 0 {
		return nil, fmt.Errorf("synth: picture size %d×%d", o.Width, o.Height)
	}
	img := image.NewRGBA(image.Rect(0, 0, o.Width, o.Height))
	seed := uint32(2166136261)
	for y := range o.Height {
		for x := range o.Width {
			seed = seed*1664525 + 1013904223
			n := 0
			if o.Noise > 0 {
				n = int(seed>>24)%o.Noise - o.Noise/2
			}
			v := clamp(120 + 80*x/o.Width + n)
			img.SetRGBA(x, y, color.RGBA{uint8(v), uint8(clamp(v - 20)), uint8(clamp(200 - 60*y/o.Height + n)), 255})
		}
	}
	if t != nil {
		tag.Draw(img, *t)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: max(1, min(100, o.Quality))}); err != nil {
		return nil, fmt.Errorf("synth: encode jpeg: %w", err)
	}
	return b.Bytes(), nil
}

func clamp(v int) int { return max(0, min(255, v)) }

// Video makes a short test-pattern clip whose container comment metadata is
// tag.VideoComment(p.Index, actions), so the simulator knows whom it shows and
// which actions are performed. A nil p leaves the tag out.
func Video(ctx context.Context, p *Person, actions []int, o VideoOptions) ([]byte, error) {
	if o.Duration == 0 {
		o.Duration = 3 * time.Second
	}
	if o.FPS == 0 {
		o.FPS = 25
	}
	if o.Width == 0 {
		o.Width, o.Height = 480, 640
	}
	if o.Container == "" {
		o.Container = "mp4"
	}
	if o.Codec == "" {
		o.Codec = "libx264"
	}
	if o.FFmpeg == "" {
		o.FFmpeg = "ffmpeg"
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	dir, err := os.MkdirTemp("", "synth-video-")
	if err != nil {
		return nil, fmt.Errorf("synth: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "clip."+o.Container)
	args := []string{"-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", fmt.Sprintf("testsrc=size=%dx%d:rate=%d", o.Width, o.Height, o.FPS),
		"-t", strconv.FormatFloat(o.Duration.Seconds(), 'f', 2, 64), "-c:v", o.Codec}
	if o.Codec == "libx264" || o.Codec == "libx265" {
		args = append(args, "-pix_fmt", "yuv420p", "-preset", "ultrafast")
	}
	if p != nil {
		args = append(args, "-metadata", "comment="+tag.VideoComment(p.Index, actions))
	}
	args = append(args, "-f", o.Container, "-y", out)
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if b, err := exec.CommandContext(ctx, o.FFmpeg, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("synth: ffmpeg %s/%s: %w: %s", o.Container, o.Codec, err, bytes.TrimSpace(b))
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("synth: read video: %w", err)
	}
	return data, nil
}
