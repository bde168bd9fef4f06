package ivs

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Read limits for answer bodies: video_result.picture makes success bodies large.
const (
	ErrorBodyLimit   = 64 << 10
	SuccessBodyLimit = 32 << 20
)

// readResponse turns an HTTP answer into a *Response or an *Error.
func readResponse(resp *http.Response) (*Response, error) {
	if resp.StatusCode != http.StatusOK {
		return nil, readErrorBody(resp)
	}
	rid := resp.Header.Get(HeaderRequestID)
	raw, err := io.ReadAll(io.LimitReader(resp.Body, SuccessBodyLimit+1))
	switch {
	case err != nil:
		return nil, &Error{Status: http.StatusOK, Code: CodeBadBody, Message: "read body: " + err.Error(), RequestID: rid}
	case len(raw) > SuccessBodyLimit:
		return nil, &Error{Status: http.StatusOK, Code: CodeBodyTooBig, Message: fmt.Sprintf("body over %d bytes", SuccessBodyLimit), RequestID: rid}
	}
	var body ResponseBody
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, &Error{Status: http.StatusOK, Code: CodeBadBody, Message: "decode body: " + err.Error(), RequestID: rid}
	}
	if len(body.Result.RespData) == 0 {
		return nil, &Error{Status: http.StatusOK, Code: CodeNoRespData, Message: "no result.resp_data", RequestID: rid}
	}
	res := body.Result.RespData[0]
	if res.VerificationCode == 0 && res.VerificationResult == "" {
		return nil, &Error{Status: http.StatusOK, Code: CodeNoRespData, Message: "resp_data[0] has no verification_code", RequestID: rid}
	}
	return &Response{HTTPStatus: http.StatusOK, RequestID: rid, Body: body, Result: res}, nil
}

// readErrorBody reads at most ErrorBodyLimit bytes of a non-200 answer and
// returns it as an *Error, tolerating the gateway's and IAM's other shapes.
func readErrorBody(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode, RequestID: resp.Header.Get(HeaderRequestID)}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, ErrorBodyLimit))
	if err != nil && len(raw) == 0 {
		e.Message = "read error body: " + err.Error()
		return e
	}
	e.Code, e.Message = parseErrorBody(raw)
	e.Code = NormalizeCode(e.Code)
	if e.Message == "" {
		e.Message = cmp.Or(http.StatusText(resp.StatusCode), "error")
	}
	return e
}

// parseErrorBody finds a code and message in the shapes seen from IVS, the
// API gateway and IAM: {"error_code","error_msg"}, {"code","message"},
// {"errorCode","errorMsg"}, {"error":{"code","message"}}. The message is
// capped; a non-JSON body gives no code and a short plain-text message.
func parseErrorBody(raw []byte) (code, msg string) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return "", truncate(strings.TrimSpace(string(raw)), 200)
	}
	if inner, ok := m["error"]; ok {
		var nested map[string]json.RawMessage
		if json.Unmarshal(inner, &nested) == nil {
			c, msg := parseFields(nested)
			if c != "" || msg != "" {
				return c, msg
			}
		}
	}
	return parseFields(m)
}

func parseFields(m map[string]json.RawMessage) (code, msg string) {
	code = firstString(m, "error_code", "errorCode", "code")
	msg = firstString(m, "error_msg", "errorMsg", "message", "error_message", "msg")
	return code, truncate(msg, 500)
}

// firstString returns the first key present as a JSON string or number.
func firstString(m map[string]json.RawMessage, keys ...string) string {
	for _, k := range keys {
		v, ok := m[k]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
		var n json.Number
		if json.Unmarshal(v, &n) == nil {
			return n.String()
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

var _ = errors.New
