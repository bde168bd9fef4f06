package ivssim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/media/tool"
	"github.com/ivsbatch/ivsbatch/synth/tag"
)

// Video limits.
const (
	minVideoB64  = 10 << 10
	maxVideoB64  = 10 << 20
	maxVideoFile = 8 << 20
	minVideoDur  = 1.0
	maxVideoDur  = 15.0
	probeTimeout = 20 * time.Second
)

var (
	videoContainers = []string{"mov", "mp4", "avi", "flv", "webm", "matroska", "asf"}
	videoCodecs     = []string{"h261", "h263", "h264", "hevc", "vc1", "vp8", "vp9", "wmv3"}
)

// prober runs ffprobe confined, as the worker does (media/tool): the
// container decided from magic bytes, the demuxer forced, PATH alone in its
// environment, rlimits and Landlock.
type prober struct {
	bin   string
	tools *tool.Runner
	log   *slog.Logger
}

type probeOutput struct {
	Format struct {
		FormatName string            `json:"format_name"`
		Duration   string            `json:"duration"`
		Tags       map[string]string `json:"tags"`
	} `json:"format"`
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
	} `json:"streams"`
}

// videoTag is what a checked video shows.
type videoTag struct {
	person  int
	actions []int
	tagged  bool
}

// checkVideo checks size, container, codec and duration, and reads the
// comment tag. Errors are IVS.0005 (size) or IVS.0008 (liveness input).
func (p *prober) checkVideo(ctx context.Context, b64 string) (videoTag, *apiError) {
	if len(b64) < minVideoB64 || len(b64) > maxVideoB64 {
		return videoTag{}, fail(CodeVideoSize, "")
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	switch {
	case err != nil:
		return videoTag{}, fail(CodeLiveness, "video base64 cannot be decoded")
	case len(raw) > maxVideoFile:
		return videoTag{}, fail(CodeVideoSize, "")
	}
	c, ok := tool.Sniff(raw)
	if !ok {
		return videoTag{}, fail(CodeLiveness, "unsupported video container")
	}
	out, err := p.probe(ctx, c, raw)
	if err != nil {
		p.log.Info("video probe failed", "err", err)
		return videoTag{}, fail(CodeLiveness, "the video cannot be decoded")
	}
	if e := checkProbe(out); e != nil {
		return videoTag{}, e
	}
	for k, v := range out.Format.Tags {
		if strings.EqualFold(k, "comment") {
			if person, actions, ok := tag.ParseVideoComment(v); ok {
				return videoTag{person: person, actions: actions, tagged: true}, nil
			}
		}
	}
	return videoTag{}, nil
}

func checkProbe(out probeOutput) *apiError {
	if !slices.ContainsFunc(strings.Split(out.Format.FormatName, ","), func(n string) bool {
		return slices.Contains(videoContainers, n)
	}) {
		return fail(CodeLiveness, "unsupported video container")
	}
	codec := ""
	for _, st := range out.Streams {
		if st.CodecType == "video" {
			codec = st.CodecName
			break
		}
	}
	if !slices.Contains(videoCodecs, codec) {
		return fail(CodeLiveness, "unsupported video codec")
	}
	d, err := strconv.ParseFloat(out.Format.Duration, 64)
	if err != nil || d < minVideoDur || d > maxVideoDur {
		return fail(CodeLiveness, "the video must last 1-15 s")
	}
	return nil
}

// probe writes raw to a temp directory (removed afterwards) and runs
// ffprobe on it as container c.
func (p *prober) probe(ctx context.Context, c tool.Container, raw []byte) (probeOutput, error) {
	var out probeOutput
	dir, err := os.MkdirTemp("", "ivssim-")
	if err != nil {
		return out, fmt.Errorf("probe: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "in"), raw, 0o600); err != nil {
		return out, fmt.Errorf("probe: write temp file: %w", err)
	}
	args := append([]string{"-v", "error", "-print_format", "json", "-show_format", "-show_streams"}, c.InputArgs("in")...)
	res, err := p.tools.Run(ctx, tool.Job{Tool: p.bin, Args: args, Dir: dir, Timeout: probeTimeout})
	if err != nil {
		return out, fmt.Errorf("probe: %w", err)
	}
	if err := json.Unmarshal(res.Stdout, &out); err != nil {
		return out, fmt.Errorf("probe: ffprobe output: %w", err)
	}
	return out, nil
}
