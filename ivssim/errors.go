package ivssim

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error codes the simulator answers, with the HTTP status and message the
// real service and gateway use.
const (
	CodeMetaNull       = "IVS.0001"
	CodeReqDataExtra   = "IVS.0002"
	CodeRequiredNull   = "IVS.0003"
	CodeImageSize      = "IVS.0004"
	CodeVideoSize      = "IVS.0005"
	CodeFaceImage      = "IVS.0006"
	CodeIDCardImage    = "IVS.0007"
	CodeLiveness       = "IVS.0008"
	CodeFaceDetect     = "IVS.0009"
	CodeFaceCompare    = "IVS.0010"
	CodeParamFormat    = "IVS.0011"
	CodeContentType    = "IVS.0012"
	CodeTokenAbnormal  = "IVS.0013"
	CodeFrozen         = "IVS.0014"
	CodeNotSubscribed  = "IVS.0015"
	CodeInternal       = "IVS.0101"
	CodeAPINotFound    = "APIG.0101"
	CodeGatewayBackend = "APIG.0201"
	CodeAuthFailed     = "APIG.0301"
	CodeTokenExpired   = "APIG.0307"
	CodeThrottled      = "APIG.0308"
)

type codeInfo struct {
	status int
	msg    string // may contain one %s
}

var codes = map[string]codeInfo{
	CodeMetaNull:       {400, "Request parameter meta is null or empty."},
	CodeReqDataExtra:   {400, "Request parameter req_data is redundant ."},
	CodeRequiredNull:   {400, "Some necessary request parameters in req_data is null."},
	CodeImageSize:      {400, "Image base64 size is more than 4MB or less than 10KB."},
	CodeVideoSize:      {400, "Video base 64 size is more than 10MB or less than 10KB."},
	CodeFaceImage:      {400, "The input face image is invalid."},
	CodeIDCardImage:    {400, "Id card image error: %s. Please try another image."},
	CodeLiveness:       {400, "live detect error: %s. Please check your input."},
	CodeFaceDetect:     {400, "face detect error: %s. Please check your input."},
	CodeFaceCompare:    {400, "face compare error: %s. Please check your input."},
	CodeParamFormat:    {400, "The request param has wrong format, %s."},
	CodeContentType:    {400, "Lack Header or Header Content-Type is empty."},
	CodeTokenAbnormal:  {400, "The authentication token is abnormal."},
	CodeFrozen:         {400, "The service has been frozen."},
	CodeNotSubscribed:  {400, "The subservice has not been subscribed."},
	CodeInternal:       {500, "Service inner error."},
	CodeAPINotFound:    {404, "The API does not exist or has not been published in the environment"},
	CodeGatewayBackend: {504, "Backend timeout"},
	CodeAuthFailed:     {401, "Incorrect IAM authentication information: %s"},
	CodeTokenExpired:   {401, "The token must be updated"},
	CodeThrottled:      {429, "The throttling threshold has been reached: policy user over ratelimit,limit:%s,time:1 second"},
}

// apiError is an error answer: code, HTTP status and message.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// fail builds the answer for code; detail fills the message's %s.
func fail(code, detail string) *apiError {
	ci, ok := codes[code]
	if !ok {
		ci = codeInfo{500, "Service inner error."}
	}
	msg := ci.msg
	if containsVerb(msg) {
		msg = fmt.Sprintf(msg, detail)
	}
	return &apiError{Status: ci.status, Code: code, Message: msg}
}

// failStatus is fail with a status other than the code's usual one
// (APIG.0201 also means 400 bad request and 413 entity too large).
func failStatus(status int, code, msg string) *apiError {
	return &apiError{Status: status, Code: code, Message: msg}
}

func containsVerb(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '%' && s[i+1] == 's' {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, map[string]string{"error_code": e.Code, "error_msg": e.Message})
}
