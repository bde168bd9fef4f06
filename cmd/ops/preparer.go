package main

import (
	"context"
	"os"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// newPreparer is the media preparer prevalidate uses: the same as the
// worker.s (internal/workermain).
func newPreparer() (pipeline.Preparer, error) {
	cfg, err := config.Media(os.Getenv)
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
