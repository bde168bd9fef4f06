package store

import (
	"context"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// The queries whose plans the tests check.
var (
	DedupSQL           = dedupSQL
	ClaimQueuedManySQL = claimQueuedManySQL
	ClaimPendingSQL    = claimPendingSQL
	BatchProgressSQL   = batchProgressSQL
	InFlightSinceSQL   = inFlightSinceSQL
	ListOpenSQL        = listOpenSQL
	BatchCountsSQL     = batchCountsSQL
	StatusCountsSQL    = statusCountsSQL
	OpenBatchesSQL     = openBatchesSQL
	BatchVerdictsSQL   = batchVerdictsSQL
	EachRecordSQL      = eachRecordSQL // one chunk of EachRecord
	ListBatchesSQL     = listBatchesSQL
	SettleBatchesSQL   = settleBatchesSQL
	ListReviewSQL      = listReviewSQL
	FindByRefSQL       = findByRefSQL
	FindByIDNumberSQL  = findByIDNumberSQL
)

// ShapesOf lists the shapes served by endpoint ep.
func ShapesOf(ep pipeline.Endpoint) []string { return shapesOf(ep) }

// EachRecordBounded is EachRecord with maxBytes of sealed metadata per chunk.
func (s *Store) EachRecordBounded(ctx context.Context, batchID int64, maxBytes int, fn func(*pipeline.Record) error) error {
	return s.eachRecord(ctx, batchID, nil, maxBytes, fn)
}

// ClaimGroup runs the claims of refs as one group of Claim's group commit
// and returns what each claimed (nil: left to claimSQL).
func (s *Store) ClaimGroup(ctx context.Context, refs []pipeline.TaskRef) ([]*pipeline.Record, error) {
	group := make([]*claimWrite, len(refs))
	for i, ref := range refs {
		group[i] = &claimWrite{ref: ref}
	}
	if err := s.claimQueued(ctx, group); err != nil {
		return nil, err
	}
	out := make([]*pipeline.Record, len(group))
	for i, w := range group {
		out[i] = w.rec
	}
	return out, nil
}
