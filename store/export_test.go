package store

// The dedup look-ups, for plan tests.
const (
	DedupInProgressSQL = dedupInProgressSQL
	DedupPriorSQL      = dedupPriorSQL
)
