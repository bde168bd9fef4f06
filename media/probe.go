package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
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

// probe runs ffprobe on path. It returns errProbe (wrapped) when the file is
// unreadable as media, and other errors when ffprobe itself failed to run.
func (p *Preparer) probe(ctx context.Context, path string) (probeInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ProbeTimeout)
	defer cancel()
	var stdout bytes.Buffer
	stderr := &limitedBuffer{max: 2048}
	cmd := exec.CommandContext(ctx, p.cfg.FFprobe, "-v", "error", "-show_format", "-show_streams", "-of", "json", path)
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return probeInfo{}, fmt.Errorf("media: ffprobe: %w", ctx.Err())
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return probeInfo{}, fmt.Errorf("%w: %s", errProbe, stderr.String())
		}
		return probeInfo{}, fmt.Errorf("media: run ffprobe: %w", err)
	}
	var j ffprobeJSON
	if err := json.Unmarshal(stdout.Bytes(), &j); err != nil {
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

// limitedBuffer keeps the first max bytes written to it, so a chatty child
// process cannot use unbounded memory.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string { return strings.TrimSpace(b.buf.String()) }
