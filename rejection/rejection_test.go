package rejection_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/rejection"
)

// The identity rules, the media checks and the fetcher return the one type:
// a wrapped rejection keeps its code, and Wrap keeps its cause.
func TestOneRejectionType(t *testing.T) {
	_, err := identity.NormalizeIDNumber("110101199003078030")
	var rej *rejection.Error
	if !errors.As(fmt.Errorf("row 3: %w", err), &rej) || rej.Code != identity.CodeIDCheck {
		t.Fatalf("identity error %v is not a *rejection.Error with code %s", err, identity.CodeIDCheck)
	}
	var _ *media.Error = rej // the same type
	cause := errors.New("object not found")
	w := rejection.Wrap("media.missing", cause)
	if rejection.Code(fmt.Errorf("face_image: %w", w)) != "media.missing" || !errors.Is(w, cause) || w.RejectCode() != "media.missing" {
		t.Errorf("wrapped rejection lost its code or cause: %v", w)
	}
	if rejection.Code(cause) != "" {
		t.Error("a plain error has a rejection code")
	}
}
