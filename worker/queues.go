package worker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/taskqueue"
)

// DefaultTaskTimeout bounds one record's task unless the worker is told
// otherwise: the worst case of one record (see pipeline.DefaultTaskTimeout).
const DefaultTaskTimeout = pipeline.DefaultTaskTimeout

// ParseQueues reads a comma-separated list of queue names
// (taskqueue.Queues), such as "ivs-extention": the queues a worker process
// serves and feeds.
func ParseQueues(s string) ([]string, error) {
	var out []string
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(taskqueue.Queues, name) {
			return nil, fmt.Errorf("unknown queue %q: want %s, or both separated by a comma", name,
				strings.Join(taskqueue.Queues, " or "))
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}
