package main

import (
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/worker"
)

func newPreparer() pipeline.Preparer { return worker.BasicPreparer{} }
