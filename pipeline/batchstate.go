package pipeline

// BatchState is where a batch stands as a whole.
type BatchState string

// Batch states. A batch is open while it has records without a final
// outcome, finished when it has none; an operator pauses a batch (its
// pending and queued records wait as held until ops resume) or cancels it
// (they end failed batch.cancelled; ops resume re-opens them).
const (
	BatchOpen      BatchState = "open"
	BatchFinished  BatchState = "finished"
	BatchPaused    BatchState = "paused"
	BatchCancelled BatchState = "cancelled"
)

// BatchStates are every batch state.
var BatchStates = []BatchState{BatchOpen, BatchFinished, BatchPaused, BatchCancelled}

// HeldBatchStates are the states an operator sets, in which a batch's
// records are not sent.
var HeldBatchStates = []BatchState{BatchPaused, BatchCancelled}

// CodeBatchCancelled is the last error code of a record whose batch was
// cancelled before it was sent.
const CodeBatchCancelled = "batch.cancelled"

// ReviewDecision is a reviewer's decision on a record in review.
type ReviewDecision string

// Review decisions (ops review -decide).
const (
	DecideApprove  ReviewDecision = "approve"  // the record ends review_approved
	DecideReject   ReviewDecision = "reject"   // the record ends review_rejected
	DecideReverify ReviewDecision = "reverify" // one more paid call, with a corrected name if given
)

// ReviewDecisions are every review decision.
var ReviewDecisions = []ReviewDecision{DecideApprove, DecideReject, DecideReverify}
