package media

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// encodeStep is one transcode attempt: x264 CRF and the largest short side.
type encodeStep struct {
	crf       int
	shortSide int
}

var (
	firstStep   = encodeStep{crf: 28, shortSide: 720}
	smallerStep = encodeStep{crf: 33, shortSide: 480} // when firstStep exceeds targetVideoBytes
	richerStep  = encodeStep{crf: 18, shortSide: 720} // when firstStep is under MinVideoBase64
)

// transcode re-encodes in to H.264/MP4 at 25 fps, short side ≤ 720 px,
// upright (ffmpeg applies rotation metadata), without audio, keeping the
// input's format-level metadata tags, trimmed to 15 s when TrimVideo is on.
func (p *Preparer) transcode(ctx context.Context, dir, in string, info probeInfo, cont string, inSize int) (pipeline.Prepared, error) {
	step := firstStep
	for attempt := 0; ; attempt++ {
		out := filepath.Join(dir, "out"+strconv.Itoa(attempt)+".mp4")
		if err := p.runTranscode(ctx, in, out, step, info); err != nil {
			return pipeline.Prepared{}, err
		}
		data, err := os.ReadFile(out)
		if err != nil {
			return pipeline.Prepared{}, fmt.Errorf("media: read transcoded video: %w", err)
		}
		n := len(data)
		switch {
		case attempt == 0 && n > targetVideoBytes:
			step = smallerStep
			continue
		case attempt == 0 && b64len(n) < MinVideoBase64:
			step = richerStep
			continue
		}
		if n > MaxVideoBytes || b64len(n) > MaxVideoBase64 || b64len(n) < MinVideoBase64 {
			return pipeline.Prepared{}, reject(CodeCannotFit, fmt.Sprintf(
				"transcoded video is %s; IVS needs %d KB – %d MB of base64 and at most %d MB", formatBytes(n),
				MinVideoBase64>>10, MaxVideoBase64>>20, MaxVideoBytes>>20))
		}
		note := fmt.Sprintf("transcoded %s/%s %s → h264/mp4 %s (crf %d)", info.codec, cont, formatBytes(inSize), formatBytes(n), step.crf)
		if p.cfg.TrimVideo && info.duration > MaxVideoSeconds {
			note += fmt.Sprintf(", trimmed %.1f s → %.0f s", info.duration, MaxVideoSeconds)
		}
		return pipeline.Prepared{Data: data, Note: note}, nil
	}
}

// runTranscode runs one ffmpeg transcode. A failure is classified by
// decoding the input: damage is media.corrupt_video, a missing decoder is
// media.unsupported_codec, anything else an ordinary (retryable) error.
func (p *Preparer) runTranscode(ctx context.Context, in, out string, step encodeStep, info probeInfo) error {
	tctx, cancel := context.WithTimeout(ctx, p.cfg.TranscodeTimeout)
	defer cancel()
	s := strconv.Itoa(step.shortSide)
	vf := fmt.Sprintf("scale='if(gt(iw,ih),-2,trunc(min(%s,iw)/2)*2)':'if(gt(iw,ih),trunc(min(%s,ih)/2)*2,-2)',fps=25", s, s)
	args := []string{"-nostdin", "-v", "error", "-xerror", "-i", in,
		"-map", "0:v:0", "-map_metadata", "0", "-an", "-sn", "-dn",
		"-c:v", "libx264", "-preset", "veryfast", "-crf", strconv.Itoa(step.crf),
		"-vf", vf, "-pix_fmt", "yuv420p", "-movflags", "+faststart"}
	if info.duration > MaxVideoSeconds {
		args = append(args, "-t", strconv.FormatFloat(MaxVideoSeconds, 'f', -1, 64))
	}
	args = append(args, "-f", "mp4", "-y", out)
	stderr := &limitedBuffer{max: 4096}
	cmd := exec.CommandContext(tctx, p.cfg.FFmpeg, args...)
	cmd.Stderr = stderr
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if tctx.Err() != nil {
		return fmt.Errorf("media: ffmpeg transcode: %w", tctx.Err())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("media: run ffmpeg: %w", err)
	}
	msg := stderr.String()
	if strings.Contains(msg, "Decoder") && strings.Contains(msg, "not found") {
		return reject(CodeUnsupportedCodec, fmt.Sprintf("no decoder for video codec %q", info.codec))
	}
	if cerr := p.decodeCheck(ctx, in); cerr != nil {
		return cerr
	}
	return fmt.Errorf("media: ffmpeg transcode failed: %s", firstLine(msg))
}
