package main

import (
	"os"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// newPreparer is the media preparer prevalidate uses: the same as the
// worker's (cmd/worker/preparer.go), IVSBATCH_TRIM_VIDEO read strictly.
func newPreparer() (pipeline.Preparer, error) {
	trim, err := envconf.Bool(os.Getenv, "IVSBATCH_TRIM_VIDEO", false)
	if err != nil {
		return nil, err
	}
	return media.New(media.Config{TrimVideo: trim}), nil
}
