package main

import (
	"os"

	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// newPreparer is the media preparer: ffmpeg/ffprobe from PATH, videos over
// 15 s rejected unless IVSBATCH_TRIM_VIDEO=true.
func newPreparer() pipeline.Preparer {
	return media.New(media.Config{TrimVideo: os.Getenv("IVSBATCH_TRIM_VIDEO") == "true"})
}
