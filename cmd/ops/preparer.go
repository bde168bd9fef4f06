package main

import (
	"os"

	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// newPreparer is the media preparer prevalidate uses: the same as the
// worker's (cmd/worker/preparer.go).
func newPreparer() (pipeline.Preparer, error) {
	cfg, err := media.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	return media.New(cfg), nil
}
