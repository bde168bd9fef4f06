package media

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// TestConcurrencyLimit checks that a preparation waits for a free slot and
// gives up, without a rejection, when its context ends first.
func TestConcurrencyLimit(t *testing.T) {
	p := New(Config{MaxConcurrent: 1})
	p.slots <- struct{}{} // another preparation is running
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Prepare(ctx, pipeline.MediaFaceImage, []byte("x"))
	var rej pipeline.Rejection
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &rej) {
		t.Fatalf("got %v, want a wrapped deadline that is not a rejection", err)
	}
	<-p.slots
	if _, err := p.Prepare(context.Background(), pipeline.MediaFaceImage, []byte("x")); ErrorCode(err) != CodeNotImage {
		t.Fatalf("with the slot free: got %v, want %s", err, CodeNotImage)
	}
}
