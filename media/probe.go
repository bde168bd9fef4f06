package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ivsbatch/ivsbatch/media/tool"
)

// probeInfo is what ffprobe says about a video file.
type probeInfo struct {
	formatName string // ffprobe format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
	majorBrand string // ISO-BMFF major brand, e.g. "isom", "qt  ", "3gp4"
	codec      string // first video stream's codec_name
	pixFmt     string
	width      int
	height     int
	duration   float64 // the video stream's own length in seconds (the container's only when the stream has none); 0 when unknown
	container  float64 // the container's length in seconds (the longest stream's); 0 when unknown
	fps        float64 // avg_frame_rate, else r_frame_rate; 0 when unknown
	rotation   int     // degrees from display matrix or rotate tag
	comment    bool    // has a format-level comment tag
}

type ffprobeJSON struct {
	Format struct {
		FormatName string            `json:"format_name"`
		Duration   string            `json:"duration"`
		Tags       map[string]string `json:"tags"`
	} `json:"format"`
	Streams []struct {
		CodecType    string            `json:"codec_type"`
		CodecName    string            `json:"codec_name"`
		PixFmt       string            `json:"pix_fmt"`
		Width        int               `json:"width"`
		Height       int               `json:"height"`
		Duration     string            `json:"duration"`
		RFrameRate   string            `json:"r_frame_rate"`
		AvgFrameRate string            `json:"avg_frame_rate"`
		Tags         map[string]string `json:"tags"`
		Disposition  map[string]int    `json:"disposition"`
		SideData     []struct {
			Rotation *float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
}

// errProbe means ffprobe ran and could not read the file.
var errProbe = errors.New("ffprobe cannot read the file")

// errNoVideo means ffprobe read the file and found no video stream in it
// (audio only, subtitles, a cover picture only).
var errNoVideo = errors.New("no video stream")

// probe runs ffprobe on the input file in dir, read as container c. It
// returns errProbe (wrapped) when the file is unreadable as media, a
// *tool.LimitError when it costs more than a run may use, and other errors
// when ffprobe itself failed to run.
func (p *Preparer) probe(ctx context.Context, dir string, c tool.Container) (probeInfo, error) {
	args := append([]string{"-v", "error", "-show_format", "-show_streams", "-of", "json"}, c.InputArgs(inputName)...)
	out, err := p.tools.Run(ctx, tool.Job{Tool: p.cfg.FFprobe, Args: args, Dir: dir, Timeout: p.cfg.ProbeTimeout})
	var ee *tool.ExitError
	switch {
	case errors.As(err, &ee):
		return probeInfo{}, fmt.Errorf("%w: %s", errProbe, ee.Stderr)
	case err != nil:
		return probeInfo{}, fmt.Errorf("media: ffprobe: %w", err)
	}
	var j ffprobeJSON
	if err := json.Unmarshal(out.Stdout, &j); err != nil {
		return probeInfo{}, fmt.Errorf("%w: bad ffprobe output: %v", errProbe, err)
	}
	info := probeInfo{formatName: j.Format.FormatName, majorBrand: j.Format.Tags["major_brand"]}
	info.container, _ = strconv.ParseFloat(j.Format.Duration, 64)
	for k := range j.Format.Tags {
		if strings.EqualFold(k, "comment") {
			info.comment = true
		}
	}
	for _, s := range j.Streams {
		if s.CodecType != "video" || s.Disposition["attached_pic"] == 1 {
			continue
		}
		info.codec, info.pixFmt, info.width, info.height = s.CodecName, s.PixFmt, s.Width, s.Height
		// The video track decides, not the container (whose length is the
		// longest stream's, audio included). Matroska/WebM keep a stream's
		// length in its DURATION tag.
		info.duration, _ = strconv.ParseFloat(s.Duration, 64)
		if info.duration <= 0 {
			info.duration = parseClock(s.Tags["DURATION"])
		}
		if info.duration <= 0 {
			info.duration = info.container
		}
		if info.fps = parseRate(s.AvgFrameRate); info.fps == 0 {
			info.fps = parseRate(s.RFrameRate)
		}
		for _, sd := range s.SideData {
			if sd.Rotation != nil && *sd.Rotation != 0 {
				info.rotation = int(*sd.Rotation)
			}
		}
		if r, err := strconv.Atoi(s.Tags["rotate"]); err == nil && r != 0 && info.rotation == 0 {
			info.rotation = r
		}
		return info, nil
	}
	return info, errNoVideo
}

// parseClock parses a Matroska duration tag such as "00:00:02.040000000"
// into seconds; 0 if invalid.
func parseClock(s string) float64 {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0
	}
	var total float64
	for _, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 {
			return 0
		}
		total = total*60 + v
	}
	return total
}

// parseRate parses an ffprobe rational such as "30000/1001"; 0 if invalid.
func parseRate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	n, err1 := strconv.ParseFloat(num, 64)
	if !ok {
		den = "1"
	}
	d, err2 := strconv.ParseFloat(den, 64)
	if err1 != nil || err2 != nil || d == 0 || n <= 0 {
		return 0
	}
	return n / d
}
