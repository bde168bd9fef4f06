package main

import (
	"context"
	"os"
	"time"

	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// newPreparer is the media preparer: ffmpeg/ffprobe from PATH, videos over
// 15 s rejected unless IVSBATCH_TRIM_VIDEO=true, at most
// IVSBATCH_MEDIA_CONCURRENCY preparations at once, ffmpeg confined as
// IVSBATCH_MEDIA_SANDBOX says (checked here, before any record).
func newPreparer() (pipeline.Preparer, error) {
	cfg, err := media.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	p := media.New(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.CheckTools(ctx); err != nil {
		return nil, err
	}
	return p, nil
}
