package store

// The dedup look-ups, for plan tests.
const (
	DedupLookupSQL = dedupLookupSQL
	DedupMarkSQL   = dedupMarkSQL
)
