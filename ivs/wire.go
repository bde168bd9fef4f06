package ivs

import "github.com/ivsbatch/ivsbatch/pipeline"

// Item is the single req_data entry of a request, with the field names the
// official SDK sends. Media fields hold standard base64 without a data: prefix.
type Item struct {
	VerificationName string   `json:"verification_name,omitempty"`
	VerificationID   string   `json:"verification_id,omitempty"`
	IDCardImage1     string   `json:"idcard_image1,omitempty"`
	IDCardImage2     string   `json:"idcard_image2,omitempty"`
	FaceImage        string   `json:"face_image,omitempty"`
	Video            string   `json:"video,omitempty"`
	Actions          string   `json:"actions,omitempty"`
	NodThreshold     *float64 `json:"nod_threshold,omitempty"`
	Detail           *bool    `json:"detail,omitempty"`
	Crop             *bool    `json:"crop,omitempty"`
}

// Meta is the request and response meta object.
type Meta struct {
	UUID string `json:"uuid"`
}

// RequestBody is the JSON body posted to either endpoint.
type RequestBody struct {
	Meta Meta        `json:"meta"`
	Data RequestData `json:"data"`
}

// RequestData wraps req_data. IVS accepts exactly one item.
type RequestData struct {
	ReqData []Item `json:"req_data"`
}

// ResponseBody is the JSON body of a 200 answer.
type ResponseBody struct {
	Meta   Meta           `json:"meta"`
	Result ResultEnvelope `json:"result"`
}

// ResultEnvelope is the result object of a 200 answer.
type ResultEnvelope struct {
	ServiceName string   `json:"service_name"`
	Count       int      `json:"count"`
	RespData    []Result `json:"resp_data"`
}

// Result is one verification outcome.
type Result struct {
	VerificationResult  string                 `json:"verification_result"` // valid, invalid, nonexistent
	VerificationMessage string                 `json:"verification_message"`
	VerificationCode    int                    `json:"verification_code"` // 1000, 2001, 2002, 2003, 2006, 3001
	Similarity          *Similarity            `json:"similarity,omitempty"`
	IDCardResult        *pipeline.IDCardResult `json:"idcard_result,omitempty"`
	VideoResult         *VideoResult           `json:"video_result,omitempty"`
}

// VideoResult is the liveness part of a video verification.
type VideoResult struct {
	Alive   bool                    `json:"alive"`
	Actions []pipeline.ActionResult `json:"actions"`
	Picture string                  `json:"picture,omitempty"` // base64 of the largest face; large and personal
}

// ErrorBody is the JSON body of a 4xx/5xx answer.
type ErrorBody struct {
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
}
