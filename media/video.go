package media

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ivsbatch/ivsbatch/media/tool"
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

// inputName is the upload's file name in a preparation's directory.
const inputName = "in"

// prepareVideo makes data a video IVS accepts: passed through when it
// complies, otherwise transcoded to H.264 in MP4 keeping format-level
// metadata (the comment tag in particular). Its container is decided from
// its magic bytes before any tool runs, and the tools read it as that
// container only (media/tool).
func (p *Preparer) prepareVideo(ctx context.Context, data []byte) (pipeline.Prepared, error) {
	c, ok := tool.Sniff(data)
	if !ok {
		return pipeline.Prepared{}, reject(CodeNotVideo, notVideo(data))
	}
	dir, err := os.MkdirTemp(p.cfg.TempDir, tempPrefix)
	if err != nil {
		return pipeline.Prepared{}, fmt.Errorf("media: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, inputName), data, 0o600); err != nil {
		return pipeline.Prepared{}, fmt.Errorf("media: write temp file: %w", err)
	}

	info, err := p.probe(ctx, dir, c)
	switch {
	case errors.Is(err, errNoVideo):
		return pipeline.Prepared{}, reject(CodeNotVideo, "the file has no video stream")
	case errors.Is(err, errProbe):
		return pipeline.Prepared{}, reject(CodeCorruptVideo, fmt.Sprintf("%s file is damaged or truncated", c.Name))
	case err != nil:
		return pipeline.Prepared{}, tooCostly(err)
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
		if err := p.decodeCheck(ctx, dir, c); err != nil {
			return pipeline.Prepared{}, err
		}
		return pipeline.Prepared{Data: data, Note: "passed through"}, nil
	}
	return p.transcode(ctx, dir, c, info, cont, len(data))
}

// notVideo says what data is when it is not a video container, for the
// rejection's message (never its bytes).
func notVideo(data []byte) string {
	head := bytes.TrimLeft(bytes.TrimPrefix(data[:min(len(data), 64)], []byte("\xEF\xBB\xBF")), " \t\r\n")
	switch {
	case bytes.HasPrefix(head, []byte("#EXTM3U")):
		return "an HLS playlist (#EXTM3U), not a video: playlists are never followed"
	case bytes.HasPrefix(head, []byte("ffconcat")):
		return "an ffconcat list, not a video: lists are never followed"
	case bytes.HasPrefix(head, []byte("v=0")):
		return "an SDP session description, not a video"
	}
	if f := sniffImage(data); f != "" {
		return fmt.Sprintf("a %s image, not a video", strings.ToUpper(f))
	}
	return "not a video container IVS accepts (MP4, MOV, WebM, MKV, AVI, FLV, ASF/WMV)"
}

// tooCostly turns a run stopped by a limit into media.too_costly (the same
// input stops the same way on any machine: retrying only burns more) and
// returns other errors as they are.
func tooCostly(err error) error {
	var le *tool.LimitError
	if errors.As(err, &le) {
		return reject(CodeTooCostly, fmt.Sprintf("reading the video needs more %s than one %s run may use (%s)",
			le.Resource, le.Tool, le.Limit))
	}
	return err
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

// decodeCheck decodes the whole video stream of the input in dir and
// reports damage (a truncated file still probes) as media.corrupt_video.
func (p *Preparer) decodeCheck(ctx context.Context, dir string, c tool.Container) error {
	args := append([]string{"-nostdin", "-v", "error", "-xerror"}, c.InputArgs(inputName)...)
	args = append(args, "-map", "0:v:0", "-f", "null", "-")
	out, err := p.tools.Run(ctx, tool.Job{Tool: p.cfg.FFmpeg, Args: args, Dir: dir, Timeout: p.cfg.ProbeTimeout})
	var ee *tool.ExitError
	switch {
	case errors.As(err, &ee):
		return reject(CodeCorruptVideo, "video does not decode cleanly: "+firstLine(cmp.Or(ee.Stderr, ee.State)))
	case err != nil:
		return tooCostly(fmt.Errorf("media: ffmpeg decode check: %w", err))
	case out.Stderr != "":
		return reject(CodeCorruptVideo, "video does not decode cleanly: "+firstLine(out.Stderr))
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
