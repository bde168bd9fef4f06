package ivs_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/ivssim/ivssimtest"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// callOf is the domain's call for the simulator fixture's request.
func (f *simFixture) callOf(t *testing.T, shape pipeline.Shape, uuid string) pipeline.Call {
	r := f.request(t, shape, uuid)
	return pipeline.Call{Shape: r.Shape, UUID: r.UUID, Name: r.Item.VerificationName, IDNumber: r.Item.VerificationID,
		IDCard1: r.Item.IDCardImage1, IDCard2: r.Item.IDCardImage2, FaceImage: r.Item.FaceImage, Video: r.Item.Video,
		Actions: r.Item.Actions}
}

// The client is the domain's Verifier: a verdict comes back as a Reply
// with everything the record stores, and the liveness picture decoded.
func TestVerifyReply(t *testing.T) {
	t.Parallel()
	f := newSim(t, nil)
	var v pipeline.Verifier = akskClient(t, f.url)
	reply, err := v.Verify(context.Background(), f.callOf(t, pipeline.ShapeCardVideo, "verify-reply"))
	if err != nil {
		t.Fatal(err)
	}
	vd := reply.Verdict
	if vd.Code == nil || *vd.Code != 1000 || vd.Result != "valid" || reply.HTTPStatus != 200 || reply.RequestID == "" {
		t.Fatalf("reply %+v", reply)
	}
	if vd.IDCardResult == nil || vd.IDCardResult.Number != f.people[1].IDNumber {
		t.Errorf("idcard_result %+v", vd.IDCardResult)
	}
	if vd.VideoAlive == nil || !*vd.VideoAlive || len(vd.VideoActions) != 2 {
		t.Errorf("video: alive %v, actions %+v", vd.VideoAlive, vd.VideoActions)
	}
	if !bytes.HasPrefix(reply.Picture, []byte{0xFF, 0xD8}) {
		t.Errorf("liveness picture is not a decoded JPEG (%d bytes)", len(reply.Picture))
	}
}

// Every failure is a *pipeline.CallError with what the attempt row needs,
// wrapping the client's typed error.
func TestVerifyCallErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		mod      func(*ivssim.Config)
		call     func(pipeline.Call) pipeline.Call
		class    pipeline.Class
		code     string
		status   int
		possibly bool
	}{
		{name: "transient", mod: func(c *ivssim.Config) { c.Faults.Rate500 = 1 }, class: pipeline.ClassTransient,
			code: "IVS.0101", status: 500},
		{name: "ambiguous", mod: func(c *ivssim.Config) { c.Faults.RateDrop = 1 }, class: pipeline.ClassAmbiguous,
			code: ivs.CodeTransport, possibly: true},
		{name: "refused locally", call: func(c pipeline.Call) pipeline.Call { c.Name = ""; return c },
			class: pipeline.ClassInputError, code: pipeline.CodeRequestInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newSim(t, tc.mod)
			c := f.callOf(t, pipeline.ShapeNameFaceImage, "verify-"+tc.name)
			if tc.call != nil {
				c = tc.call(c)
			}
			_, err := akskClient(t, f.url, ivs.WithTimeout(time.Second)).Verify(context.Background(), c)
			ce, ok := errors.AsType[*pipeline.CallError](err)
			if !ok {
				t.Fatalf("%v: not a *pipeline.CallError", err)
			}
			if ce.Class != tc.class || ce.Code != tc.code || ce.HTTPStatus != tc.status || ce.PossiblyBilled != tc.possibly {
				t.Errorf("%+v; want class %s, code %s, status %d, possibly billed %v", ce, tc.class, tc.code, tc.status, tc.possibly)
			}
			if pipeline.ClassOf(err) != ivs.Classify(ce.Err) || ce.Error() != ce.Err.Error() {
				t.Errorf("the CallError does not carry the client's error: %v", ce.Err)
			}
		})
	}
}

// RefreshAuth's failure says what it means too: refused credentials stop
// the account, and the client's *AuthError is still there for errors.As.
func TestRefreshAuthCallError(t *testing.T) {
	t.Parallel()
	f := newSim(t, nil)
	err := tokenClient(t, f.url, "wrong").RefreshAuth(context.Background())
	ce, ok := errors.AsType[*pipeline.CallError](err)
	if !ok || ce.Class != pipeline.ClassAccountStop || ce.Code != ivs.CodeAuth {
		t.Fatalf("refused credentials: %#v; want an account stop with code auth", err)
	}
	if _, ok := errors.AsType[*ivs.AuthError](err); !ok {
		t.Errorf("the *ivs.AuthError is not in the chain: %v", err)
	}
	if err := tokenClient(t, f.url, ivssimtest.Password).RefreshAuth(context.Background()); err != nil {
		t.Errorf("good credentials: %v", err)
	}
}
