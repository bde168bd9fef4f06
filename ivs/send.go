package ivs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// HeaderRequestID is the response header with the service's request id, and
// HeaderEnterpriseProjectID the optional cost-allocation request header.
const (
	HeaderRequestID           = "X-Request-Id"
	HeaderEnterpriseProjectID = "Enterprise-Project-Id"
)

func encodeBody(req Request) ([]byte, error) {
	b, err := json.Marshal(RequestBody{
		Meta: Meta{UUID: req.UUID},
		Data: RequestData{ReqData: []Item{req.Item}},
	})
	if err != nil {
		return nil, &pipeline.RequestError{Field: "item", Reason: "cannot encode: " + err.Error()}
	}
	return b, nil
}

// send authenticates and posts body, then reads the answer.
func (c *Client) send(ctx context.Context, ep pipeline.Endpoint, body []byte) (*Response, error) {
	var sent atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			sent.Store(true)
		}
	}}
	r, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost,
		c.endpoint+string(ep), bytes.NewReader(body))
	if err != nil {
		return nil, &pipeline.RequestError{Field: "endpoint", Reason: err.Error()}
	}
	if err := c.authenticate(ctx, r, body); err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(r)
	if err != nil {
		return nil, &TransportError{Op: "post " + string(ep), Err: err, Sent: sent.Load(), Timeout: isTimeout(err)}
	}
	defer resp.Body.Close()
	return readResponse(resp)
}

// authenticate sets every header, then the token or the signature, at send time.
func (c *Client) authenticate(ctx context.Context, r *http.Request, body []byte) error {
	r.Header.Set("Content-Type", "application/json")
	if c.enterpriseProjectID != "" {
		r.Header.Set(HeaderEnterpriseProjectID, c.enterpriseProjectID)
	}
	if c.tokens != nil {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return err
		}
		r.Header.Set(HeaderAuthToken, tok)
		return nil
	}
	return c.signer.Sign(r, body, c.now())
}

// isTimeout reports whether err is a deadline rather than a refusal or reset.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
