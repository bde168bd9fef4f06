package ivs

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Verify implements pipeline.Verifier: it sends call once (Do) and returns
// the verdict as the domain's Reply, or a *pipeline.CallError wrapping the
// client's typed error (see CallError).
func (c *Client) Verify(ctx context.Context, call pipeline.Call) (*pipeline.Reply, error) {
	resp, err := c.Do(ctx, RequestOf(call))
	if err != nil {
		return nil, CallError(err)
	}
	return c.reply(ctx, resp), nil
}

// RequestOf is the request that sends call.
func RequestOf(call pipeline.Call) Request {
	return Request{Shape: call.Shape, UUID: call.UUID, Item: Item{
		VerificationName: call.Name, VerificationID: call.IDNumber, IDCardImage1: call.IDCard1,
		IDCardImage2: call.IDCard2, FaceImage: call.FaceImage, Video: call.Video, Actions: call.Actions,
		NodThreshold: call.NodThreshold, Detail: call.Detail, Crop: call.Crop,
	}}
}

// CallError describes err, as returned by Do or RefreshAuth, for the
// pipeline: its class (Classify), the code to store (ErrorCode), the
// answer's status, request id and message, and whether a request that got
// no answer may have been billed. nil stays nil.
func CallError(err error) *pipeline.CallError {
	if err == nil {
		return nil
	}
	ce := &pipeline.CallError{Class: Classify(err), Code: ErrorCode(err), Message: err.Error(), Err: err}
	var (
		e  *Error
		te *TransportError
	)
	switch {
	case errors.As(err, &e):
		ce.HTTPStatus, ce.RequestID, ce.Message = e.Status, e.RequestID, e.Message
	case errors.As(err, &te):
		ce.Message, ce.PossiblyBilled = te.Error(), te.Sent
	}
	return ce
}

// reply is the domain's view of a 200 answer.
func (c *Client) reply(ctx context.Context, resp *Response) *pipeline.Reply {
	r := resp.Result
	code := r.VerificationCode
	v := pipeline.Verdict{Result: r.VerificationResult, Code: &code, Message: r.VerificationMessage,
		IDCardResult: r.IDCardResult}
	if r.Similarity != nil {
		s := float64(*r.Similarity)
		v.Similarity = &s
	}
	out := &pipeline.Reply{HTTPStatus: resp.HTTPStatus, RequestID: resp.RequestID, Verdict: v}
	if vr := r.VideoResult; vr != nil {
		alive := vr.Alive
		out.Verdict.VideoAlive = &alive
		out.Verdict.VideoActions = vr.Actions
		if out.Verdict.VideoActions == nil {
			out.Verdict.VideoActions = []pipeline.ActionResult{}
		}
		out.Picture = c.picture(ctx, vr.Picture, resp.RequestID)
	}
	return out
}

// picture decodes the liveness picture; one that is not base64 is dropped
// (logged without its content).
func (c *Client) picture(ctx context.Context, b64, requestID string) []byte {
	if b64 == "" {
		return nil
	}
	jpeg, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "liveness picture is not base64; not kept", slog.String("request_id", requestID))
		return nil
	}
	return jpeg
}
