package worker

import (
	"context"
	"errors"

	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/rejection"
)

// RejectingFetcher turns the object store's input errors (missing object,
// object too large, malformed reference) into rejections, so the record is
// finished with a stored reason instead of being retried; other errors
// (the store is down) stay retryable.
type RejectingFetcher struct{ Store pipeline.Fetcher }

// Fetch implements pipeline.Fetcher.
func (f RejectingFetcher) Fetch(ctx context.Context, ref string, limit int64) ([]byte, error) {
	b, err := f.Store.Fetch(ctx, ref, limit)
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, objstore.ErrNotFound):
		return nil, rejection.Wrap("media.missing", err)
	case errors.Is(err, objstore.ErrTooLarge):
		return nil, rejection.Wrap("media.too_large", err)
	case errors.Is(err, objstore.ErrBadRef):
		return nil, rejection.Wrap("media.bad_ref", err)
	}
	return nil, err
}
