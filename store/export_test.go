package store

// The dedup statement and the claim of queued records, for plan tests.
const DedupSQL = dedupSQL

var ClaimQueuedManySQL = claimQueuedManySQL
