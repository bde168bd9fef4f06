package main

import (
	"os"

	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// newPreparer is the media preparer: ffmpeg/ffprobe from PATH, videos over
// 15 s rejected unless IVSBATCH_TRIM_VIDEO=true, at most
// IVSBATCH_MEDIA_CONCURRENCY preparations at once.
func newPreparer() (pipeline.Preparer, error) {
	cfg, err := media.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	return media.New(cfg), nil
}
