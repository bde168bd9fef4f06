package media

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ivsbatch/ivsbatch/media/tool"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// encodeStep is one transcode attempt: the file size the x264 bit rate
// aims at, and the largest short side.
type encodeStep struct {
	aim       int // bytes
	shortSide int
}

var (
	firstStep   = encodeStep{aim: aimVideoBytes, shortSide: 720}
	smallerStep = encodeStep{aim: aimVideoBytes / 2, shortSide: 480} // when firstStep exceeds targetVideoBytes
	richerStep  = encodeStep{aim: 3 * aimVideoBytes, shortSide: 720} // when firstStep is under MinVideoBase64
)

// transcodeFPS is the frame rate of every transcoded video, inside IVS's
// 10–30 fps.
const transcodeFPS = 25

// transcode re-encodes in to H.264/MP4 at 25 fps, short side ≤ 720 px,
// upright (ffmpeg applies rotation metadata), without audio, keeping the
// input's format-level metadata tags, trimmed to 15 s when TrimVideo is on.
func (p *Preparer) transcode(ctx context.Context, dir string, c tool.Container, info probeInfo, cont string, inSize int) (pipeline.Prepared, error) {
	step := firstStep
	for attempt := 0; ; attempt++ {
		out := "out" + strconv.Itoa(attempt) + ".mp4"
		if err := p.runTranscode(ctx, dir, c, out, step, info); err != nil {
			return pipeline.Prepared{}, err
		}
		data, err := os.ReadFile(filepath.Join(dir, out))
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
		note := fmt.Sprintf("transcoded %s/%s %s %.1f fps → h264/mp4 %s %d fps", info.codec, cont, formatBytes(inSize), info.fps,
			formatBytes(n), transcodeFPS)
		if p.cfg.TrimVideo && info.duration > MaxVideoSeconds {
			note += fmt.Sprintf(", trimmed %.1f s → %.0f s", info.duration, MaxVideoSeconds)
		}
		return pipeline.Prepared{Data: data, Note: note}, nil
	}
}

// videoPreset is the x264 preset of transcodes: with a bit rate target the
// size is the same and superfast encodes faster than veryfast.
const videoPreset = "superfast"

// runTranscode runs one ffmpeg transcode of the input in dir, read as c,
// to out in dir. A failure is classified by decoding the input: damage is
// media.corrupt_video, a missing decoder media.unsupported_codec, a limit
// media.too_costly, anything else an ordinary (retryable) error.
func (p *Preparer) runTranscode(ctx context.Context, dir string, c tool.Container, out string, step encodeStep, info probeInfo) error {
	s := strconv.Itoa(step.shortSide)
	// Frames are dropped to 25 fps before scaling (less to scale), and
	// scaled bilinearly (a 4K frame to 720p costs a third of bicubic).
	vf := fmt.Sprintf("fps=%d,scale='if(gt(iw,ih),-2,trunc(min(%s,iw)/2)*2)':'if(gt(iw,ih),trunc(min(%s,ih)/2)*2,-2)':flags=bilinear",
		transcodeFPS, s, s)
	seconds := min(info.duration, MaxVideoSeconds)
	rate := int(float64(step.aim) * 8 / max(seconds, MinVideoSeconds))
	args := append([]string{"-nostdin", "-v", "error", "-xerror"}, c.InputArgs(inputName)...)
	args = append(args, "-map", "0:v:0", "-map_metadata", "0", "-an", "-sn", "-dn",
		"-c:v", "libx264", "-preset", videoPreset,
		"-b:v", strconv.Itoa(rate), "-maxrate", strconv.Itoa(2*rate), "-bufsize", strconv.Itoa(4*rate),
		"-vf", vf, "-pix_fmt", "yuv420p", "-movflags", "+faststart")
	if info.duration > MaxVideoSeconds {
		args = append(args, "-t", strconv.FormatFloat(MaxVideoSeconds, 'f', -1, 64))
	}
	args = append(args, "-f", "mp4", "-y", "file:"+out)
	_, err := p.tools.Run(ctx, tool.Job{Tool: p.cfg.FFmpeg, Args: args, Dir: dir, Timeout: p.cfg.TranscodeTimeout})
	var ee *tool.ExitError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &ee):
		return tooCostly(fmt.Errorf("media: ffmpeg transcode: %w", err))
	case strings.Contains(ee.Stderr, "Decoder") && strings.Contains(ee.Stderr, "not found"):
		return reject(CodeUnsupportedCodec, fmt.Sprintf("no decoder for video codec %q", info.codec))
	}
	if cerr := p.decodeCheck(ctx, dir, c); cerr != nil {
		return cerr
	}
	return fmt.Errorf("media: ffmpeg transcode failed: %s", firstLine(cmp.Or(ee.Stderr, ee.State)))
}
