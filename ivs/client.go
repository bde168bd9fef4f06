package ivs

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Client calls IVS. It is safe for concurrent use; create one per process and
// share it. It never retries: every call is one HTTP request (plus, with token
// auth, an IAM request when the cached token must be replaced).
type Client struct {
	endpoint            string
	enterpriseProjectID string
	hc                  *http.Client
	timeout             time.Duration
	now                 func() time.Time
	log                 *slog.Logger
	signer              *Signer      // AK/SK auth, or nil
	tokens              *tokenSource // token auth, or nil
}

// New returns a Client configured by opts. Exactly one of WithAKSK and
// WithPassword must be given.
func New(opts ...Option) (*Client, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Client{
		endpoint:            cfg.endpoint,
		enterpriseProjectID: cfg.enterpriseProjectID,
		hc:                  cfg.httpClient,
		timeout:             cfg.timeout,
		now:                 cfg.now,
		log:                 cfg.logger,
	}
	if cfg.password != nil {
		c.tokens = &tokenSource{
			url: cfg.iamEndpoint, auth: *cfg.password, hc: cfg.httpClient,
			now: cfg.now, margin: cfg.refreshMargin, limit: cfg.timeout,
		}
	} else {
		c.signer = &Signer{AK: cfg.ak, SK: cfg.sk, ProjectID: cfg.projectID}
	}
	return c, nil
}

// RefreshAuth discards the cached IAM token and fetches a fresh one. With
// AK/SK auth it does nothing. Concurrent calls share one IAM request. Its
// error is a *pipeline.CallError (pipeline.Verifier) wrapping an *AuthError.
func (c *Client) RefreshAuth(ctx context.Context) error {
	if c.tokens == nil {
		return nil
	}
	if err := c.tokens.Refresh(ctx); err != nil {
		return CallError(err)
	}
	return nil
}

// Endpoint returns the IVS base URL the client calls.
func (c *Client) Endpoint() string { return c.endpoint }

// Do validates req, sends it to the shape's endpoint and returns the verdict.
// Errors: *pipeline.RequestError (refused locally, nothing sent), *AuthError (no
// token), *TransportError (no answer; Sent says whether it may be billed),
// *Error (a 4xx/5xx answer, or a billed 200 whose body is unusable). Use
// Classify to decide what to do.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	if err := ValidateRequest(req); err != nil {
		return nil, err
	}
	body, err := encodeBody(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	start := time.Now()
	resp, err := c.send(ctx, req.Shape.Endpoint(), body)
	c.logCall(ctx, req, resp, err, time.Since(start))
	if resp != nil {
		resp.Duration = time.Since(start)
	}
	return resp, err
}

// logCall logs the outcome without any personal data: shape, uuid, status,
// code, request id, duration.
func (c *Client) logCall(ctx context.Context, req Request, resp *Response, err error, d time.Duration) {
	attrs := []slog.Attr{
		slog.String("shape", string(req.Shape)), slog.String("uuid", req.UUID), slog.Duration("duration", d),
	}
	if err != nil {
		attrs = append(attrs, slog.String("class", Classify(err).String()), slog.String("code", ErrorCode(err)))
		if e, ok := err.(*Error); ok {
			attrs = append(attrs, slog.Int("status", e.Status), slog.String("request_id", e.RequestID))
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "ivs call failed", attrs...)
		return
	}
	attrs = append(attrs, slog.Int("status", resp.HTTPStatus), slog.String("request_id", resp.RequestID),
		slog.Int("verification_code", resp.Result.VerificationCode))
	c.log.LogAttrs(ctx, slog.LevelDebug, "ivs call", attrs...)
}
