package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// IVS video limits and this package's targets.
const (
	MinVideoSeconds  = 1.0
	MaxVideoSeconds  = 15.0
	MinVideoFPS      = 10.0
	MaxVideoFPS      = 30.0
	MaxVideoBytes    = 8 << 20  // file size
	MaxVideoBase64   = 10 << 20 // standard base64 length
	MinVideoBase64   = 10 << 10
	passVideoBytes   = 2 << 20   // larger files are transcoded to save bandwidth
	targetVideoBytes = 2 << 20   // a transcode over this is retried smaller
	aimVideoBytes    = 700 << 10 // what a transcode's bit rate aims at, inside the recommended 200 KB – 2 MB
)

var (
	acceptedContainers = map[string]bool{"mp4": true, "mov": true, "avi": true, "flv": true, "webm": true, "asf": true}
	acceptedCodecs     = map[string]bool{"h261": true, "h263": true, "h264": true, "hevc": true, "vc1": true, "vp8": true, "vp9": true, "wmv3": true}
	passPixFmts        = map[string]bool{"yuv420p": true, "yuvj420p": true, "nv12": true}
)

// prepareVideo makes data a video IVS accepts: passed through when it
// complies, otherwise transcoded to H.264 in MP4 keeping format-level
// metadata (the comment tag in particular).
func (p *Preparer) prepareVideo(ctx context.Context, data []byte) (pipeline.Prepared, error) {
	for _, exe := range []string{p.cfg.FFprobe, p.cfg.FFmpeg} {
		if _, err := exec.LookPath(exe); err != nil {
			return pipeline.Prepared{}, fmt.Errorf("media: video tools unavailable: %w", err)
		}
	}
	dir, err := os.MkdirTemp(p.cfg.TempDir, "ivsmedia-")
	if err != nil {
		return pipeline.Prepared{}, fmt.Errorf("media: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		return pipeline.Prepared{}, fmt.Errorf("media: write temp file: %w", err)
	}

	info, err := p.probe(ctx, in)
	if errors.Is(err, errNoVideo) {
		return pipeline.Prepared{}, reject(CodeNotVideo, "the file has no video stream")
	}
	if errors.Is(err, errProbe) {
		if c := sniffContainer(data); c != "" {
			return pipeline.Prepared{}, reject(CodeCorruptVideo, fmt.Sprintf("%s file is damaged or truncated", c))
		}
		return pipeline.Prepared{}, reject(CodeNotVideo, "no video stream found")
	}
	if err != nil {
		return pipeline.Prepared{}, err
	}
	if strings.Contains(info.formatName, "image2") || strings.HasSuffix(info.formatName, "_pipe") {
		return pipeline.Prepared{}, reject(CodeNotVideo, fmt.Sprintf("a still image (%s), not a video", info.codec))
	}
	if info.codec == "" || info.codec == "none" {
		return pipeline.Prepared{}, reject(CodeUnsupportedCodec, "video codec not recognised")
	}
	switch {
	case info.duration <= 0:
		return pipeline.Prepared{}, reject(CodeCorruptVideo, "video duration is unknown")
	case info.duration < MinVideoSeconds:
		return pipeline.Prepared{}, reject(CodeVideoTooShort, fmt.Sprintf("video lasts %.2f s; IVS needs at least %.0f s", info.duration, MinVideoSeconds))
	case info.duration > MaxVideoSeconds && !p.cfg.TrimVideo:
		return pipeline.Prepared{}, reject(CodeVideoTooLong, fmt.Sprintf("video lasts %.1f s; IVS accepts at most %.0f s", info.duration, MaxVideoSeconds))
	}

	cont := containerName(info, data)
	if reason := passVideo(info, cont, len(data)); reason == "" {
		if err := p.decodeCheck(ctx, in); err != nil {
			return pipeline.Prepared{}, err
		}
		return pipeline.Prepared{Data: data, Note: "passed through"}, nil
	}
	return p.transcode(ctx, dir, in, info, cont, len(data))
}

// passVideo returns "" when a probed video can be sent unchanged, else why not.
func passVideo(info probeInfo, cont string, size int) string {
	switch {
	case !acceptedContainers[cont]:
		return "container " + cont
	case !acceptedCodecs[info.codec]:
		return "codec " + info.codec
	case !passPixFmts[info.pixFmt]:
		return "pixel format " + info.pixFmt
	case info.fps < MinVideoFPS-0.01 || info.fps > MaxVideoFPS+0.01:
		return fmt.Sprintf("%.1f fps", info.fps)
	case info.rotation != 0:
		return fmt.Sprintf("rotated %d°", info.rotation)
	case info.duration > MaxVideoSeconds:
		return "too long"
	case info.container > MaxVideoSeconds+0.05 || info.container < MinVideoSeconds:
		return fmt.Sprintf("container lasts %.1f s (other streams)", info.container)
	case size > passVideoBytes:
		return "size " + formatBytes(size)
	case b64len(size) < MinVideoBase64:
		return "too small"
	}
	return ""
}

// containerName maps ffprobe's format_name to one container name, telling
// MP4 from MOV and 3GP by major brand and WebM from Matroska by DocType.
func containerName(info probeInfo, data []byte) string {
	f := info.formatName
	switch {
	case strings.HasPrefix(f, "mov,mp4"):
		switch b := strings.TrimSpace(info.majorBrand); {
		case b == "qt":
			return "mov"
		case strings.HasPrefix(b, "3g"):
			return "3gp"
		}
		return "mp4"
	case strings.HasPrefix(f, "matroska"):
		if bytes.Contains(data[:min(len(data), 64)], []byte("webm")) {
			return "webm"
		}
		return "matroska"
	}
	return f
}

// sniffContainer names a video container recognised by its magic bytes, so
// a file ffprobe cannot read is reported as damaged rather than "not a video".
func sniffContainer(data []byte) string {
	switch {
	case len(data) >= 8 && string(data[4:8]) == "ftyp":
		return "MP4/MOV"
	case bytes.HasPrefix(data, []byte{0x1A, 0x45, 0xDF, 0xA3}):
		return "WebM/Matroska"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "AVI ":
		return "AVI"
	case bytes.HasPrefix(data, []byte("FLV\x01")):
		return "FLV"
	case bytes.HasPrefix(data, []byte{0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11}):
		return "ASF"
	}
	return ""
}

// decodeCheck decodes the whole video stream and reports damage (a
// truncated file still probes) as media.corrupt_video.
func (p *Preparer) decodeCheck(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ProbeTimeout)
	defer cancel()
	stderr := &limitedBuffer{max: 2048}
	cmd := exec.CommandContext(ctx, p.cfg.FFmpeg, "-nostdin", "-v", "error", "-xerror",
		"-i", path, "-map", "0:v:0", "-f", "null", "-")
	cmd.Stderr = stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("media: ffmpeg decode check: %w", ctx.Err())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return fmt.Errorf("media: run ffmpeg: %w", err)
	}
	if err != nil || stderr.String() != "" {
		return reject(CodeCorruptVideo, "video does not decode cleanly: "+firstLine(stderr.String()))
	}
	return nil
}

// firstLine returns the first line of s, at most 200 bytes.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
