package main

import (
	"os"

	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// newPreparer is the media preparer prevalidate uses: the same as the
// worker's (cmd/worker/preparer.go).
func newPreparer() pipeline.Preparer {
	return media.New(media.Config{TrimVideo: os.Getenv("IVSBATCH_TRIM_VIDEO") == "true"})
}
