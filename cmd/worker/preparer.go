package main

import (
	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// newPreparer is the media preparer: ffmpeg/ffprobe from PATH, videos over
// 15 s rejected unless trimVideo (IVSBATCH_TRIM_VIDEO=true).
func newPreparer(trimVideo bool) pipeline.Preparer {
	return media.New(media.Config{TrimVideo: trimVideo})
}
