package pipeline

import (
	"errors"
	"fmt"
	"time"
)

// RetryLater is what Process returns when the task must run again later. The
// queue uses Delay for its next try and counts the try as a failure only
// when Failure is set (throttling and pauses are not failures).
type RetryLater struct {
	Delay   time.Duration
	Failure bool
	Reason  string
	Err     error
}

func (e *RetryLater) Error() string {
	s := fmt.Sprintf("retry in %s: %s", e.Delay.Round(time.Millisecond), e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *RetryLater) Unwrap() error { return e.Err }

// AsRetryLater returns the RetryLater in err's chain, if any.
func AsRetryLater(err error) (*RetryLater, bool) {
	var r *RetryLater
	ok := errors.As(err, &r)
	return r, ok
}
