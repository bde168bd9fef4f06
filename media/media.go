// Package media turns uploaded face photos, ID-card photos and liveness videos
// into what Huawei IVS accepts, or rejects them locally with a precise
// *Error before a paid call is made.
//
// Images (JPEG, PNG, WebP, GIF, BMP, TIFF — its first page — and
// HEIC/HEIF/AVIF with libheif in; JPEG out): EXIF or TIFF orientation is
// applied, sizes are checked, and the picture is resized and re-encoded to
// the IVS limits (faces ≤ 1024 px and ≤ 88 KB of base64 at JPEG quality ≥
// 75, shrinking rather than compressing harder; ID cards ≤ 2048 px and ≤
// ~1 MB). A JPEG that already complies passes through byte for byte after
// one cheap decode (1/8 scale): every image sent has been decoded, and a
// damaged one is media.corrupt_image whatever its role. Animated WebP and
// JPEG-compressed or CMYK TIFF are media.unsupported_format.
//
// Memory is bounded: the pixel count and the decode cost are checked from
// the header before decoding, JPEGs are decoded scaled down in the DCT
// domain, large non-JPEG pictures are reduced a band of rows at a time, and
// Config.MaxConcurrent bounds the preparations running at once.
//
// By default (cgo with Debian's libturbojpeg0-dev and libheif-dev, which
// scripts/deps.sh installs) JPEGs are decoded and encoded by libjpeg-turbo
// (accurate DCT; RGB-coded and CMYK JPEGs included) and HEIC/AVIF by
// libheif. With -tags purego or CGO_ENABLED=0, JPEGs go through image/jpeg
// and HEIC/AVIF are media.unsupported_format.
//
// Videos are probed and, when needed, transcoded to H.264/MP4 with the
// ffprobe and ffmpeg executables, keeping format-level metadata tags. The
// video stream's own duration (1–15 s) and frame rate (10–30 fps) decide.
// The container is decided from the magic bytes first: anything but MP4,
// MOV, WebM, MKV, AVI, FLV and ASF/WMV (a playlist, a concat list, an
// image) is media.not_video before any tool runs, and every tool run reads
// its input only as that container, confined (media/tool: PATH-only
// environment, rlimits, deadline, Landlock).
package media

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/ivsbatch/ivsbatch/media/tool"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Config configures a Preparer. The zero value is usable.
type Config struct {
	FFmpeg, FFprobe  string        // executables; default "ffmpeg"/"ffprobe" looked up in PATH
	ProbeTimeout     time.Duration // per ffprobe and per decode check; default 20 s
	TranscodeTimeout time.Duration // per ffmpeg transcode; default 2 min
	TrimVideo        bool          // cut videos longer than 15 s to 15 s instead of rejecting them
	TempDir          string        // for video temp files; default os.TempDir()
	// MaxConcurrent bounds the preparations running at once in this
	// Preparer (others wait), separately from how many records a worker
	// handles at once: with the per-image decode budget it bounds the
	// worker's memory. Default GOMAXPROCS, at least 2.
	MaxConcurrent int
	// Tools confines every ffprobe and ffmpeg run (media/tool): the
	// sandbox (Landlock unless told otherwise) and the CPU time, address
	// space and file size one run may use.
	Tools tool.Config
}

// Environment variables ConfigFromEnv reads for Config.MaxConcurrent and
// Config.Tools.Sandbox.
const (
	ConcurrencyEnv = "IVSBATCH_MEDIA_CONCURRENCY"
	SandboxEnv     = "IVSBATCH_MEDIA_SANDBOX"
)

// Preparer implements pipeline.Preparer. It is safe for concurrent use.
type Preparer struct {
	cfg   Config
	tools *tool.Runner  // runs every ffprobe and ffmpeg
	slots chan struct{} // one token per running preparation
}

var _ pipeline.Preparer = (*Preparer)(nil)

// New returns a Preparer with cfg's defaults filled in.
func New(cfg Config) *Preparer {
	if cfg.FFmpeg == "" {
		cfg.FFmpeg = "ffmpeg"
	}
	if cfg.FFprobe == "" {
		cfg.FFprobe = "ffprobe"
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = 20 * time.Second
	}
	if cfg.TranscodeTimeout <= 0 {
		cfg.TranscodeTimeout = 2 * time.Minute
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = max(2, runtime.GOMAXPROCS(0))
	}
	return &Preparer{cfg: cfg, tools: tool.New(cfg.Tools), slots: make(chan struct{}, cfg.MaxConcurrent)}
}

// CheckTools reports, when a command starts rather than on its first
// video, whether the media tools can run confined as configured: prlimit
// present and, under the default sandbox, a kernel with Landlock.
func (p *Preparer) CheckTools(ctx context.Context) error {
	if err := p.tools.Check(ctx); err != nil {
		return fmt.Errorf("media: %w (%s=%s runs ffmpeg with resource limits only, without Landlock)",
			err, SandboxEnv, tool.RlimitsOnly)
	}
	return nil
}

// Prepare implements pipeline.Preparer: it returns media IVS accepts for kind,
// an *Error when the input can never be made acceptable, or another error
// (worth retrying) when something other than the input failed.
func (p *Preparer) Prepare(ctx context.Context, kind pipeline.MediaKind, data []byte) (pipeline.Prepared, error) {
	if err := ctx.Err(); err != nil {
		return pipeline.Prepared{}, fmt.Errorf("media: prepare %s: %w", kind, err)
	}
	if len(data) == 0 {
		return pipeline.Prepared{}, reject(CodeEmpty, "the file is empty")
	}
	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	case <-ctx.Done():
		return pipeline.Prepared{}, fmt.Errorf("media: prepare %s: waiting for a slot: %w", kind, ctx.Err())
	}
	switch kind {
	case pipeline.MediaFaceImage:
		return prepareImage(ctx, faceSpec, data)
	case pipeline.MediaIDCardImage:
		return prepareImage(ctx, cardSpec, data)
	case pipeline.MediaVideo:
		return p.prepareVideo(ctx, data)
	}
	return pipeline.Prepared{}, reject(CodeUnknownKind, fmt.Sprintf("unknown media kind %q", string(kind)))
}

// formatBytes renders n as "512 B", "610 KB" or "5.1 MB" for notes.
func formatBytes(n int) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%d KB", (n+512)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1024*1024))
}
