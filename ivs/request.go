package ivs

import (
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Request is one call: a shape, the caller's uuid (meta.uuid, ≤ 64 chars) and
// the single req_data item.
type Request struct {
	Shape pipeline.Shape
	UUID  string
	Item  Item
}

// Response is a 200 answer with what the attempt row needs.
type Response struct {
	HTTPStatus int
	RequestID  string // X-Request-Id
	Duration   time.Duration
	Body       ResponseBody
	Result     Result // Body.Result.RespData[0]
}
