package store

import (
	"context"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// The dedup statement and the claim of queued records, for plan tests.
const DedupSQL = dedupSQL

var ClaimQueuedManySQL = claimQueuedManySQL

// EachRecordBounded is EachRecord with maxBytes of sealed metadata per chunk.
func (s *Store) EachRecordBounded(ctx context.Context, batchID int64, maxBytes int, fn func(*pipeline.Record) error) error {
	return s.eachRecord(ctx, batchID, nil, maxBytes, fn)
}

// EachRecordSQL reads one chunk of EachRecord.
var EachRecordSQL = eachRecordSQL
