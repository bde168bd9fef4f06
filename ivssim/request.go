package ivssim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Length limits of text parameters, in bytes.
const (
	maxUUIDBytes = 64
	maxNameBytes = 128
)

// simRequest is a validated request with its media still in base64.
type simRequest struct {
	uuid         string
	name, id     string // text shapes; id normalised to 18 characters
	text         bool
	card1, card2 string
	face, video  string
	actions      []int
	detail, crop bool
}

type object map[string]json.RawMessage

func isNull(raw json.RawMessage) bool {
	return raw == nil || string(bytes.TrimSpace(raw)) == "null"
}

func decodeObject(raw json.RawMessage, name string) (object, *apiError) {
	var o object
	if err := json.Unmarshal(raw, &o); err != nil || o == nil {
		return nil, fail(CodeParamFormat, fmt.Sprintf("error in parsing %s, object type expected", name))
	}
	return o, nil
}

// parseRequest checks the body's structure and types, and the text fields.
func parseRequest(body []byte) (*simRequest, *apiError) {
	top, e := decodeObject(body, "body")
	if e != nil {
		return nil, e
	}
	uuid, e := parseMeta(top["meta"])
	if e != nil {
		return nil, e
	}
	item, e := parseItem(top["data"])
	if e != nil {
		return nil, e
	}
	req := &simRequest{uuid: uuid, crop: true}
	if e := req.readFields(item); e != nil {
		return nil, e
	}
	return req, nil
}

func parseMeta(raw json.RawMessage) (string, *apiError) {
	if isNull(raw) {
		return "", fail(CodeMetaNull, "")
	}
	meta, e := decodeObject(raw, "meta")
	if e != nil {
		return "", e
	}
	if isNull(meta["uuid"]) {
		return "", fail(CodeMetaNull, "")
	}
	var uuid string
	if err := json.Unmarshal(meta["uuid"], &uuid); err != nil {
		return "", fail(CodeParamFormat, "error in parsing uuid, string type expected")
	}
	switch {
	case uuid == "":
		return "", fail(CodeMetaNull, "")
	case len(uuid) > maxUUIDBytes:
		return "", fail(CodeParamFormat, fmt.Sprintf("the length of uuid exceeds %d bytes", maxUUIDBytes))
	}
	return uuid, nil
}

// parseItem returns the single req_data item.
func parseItem(raw json.RawMessage) (object, *apiError) {
	if isNull(raw) {
		return nil, fail(CodeRequiredNull, "")
	}
	data, e := decodeObject(raw, "data")
	if e != nil {
		return nil, e
	}
	if isNull(data["req_data"]) {
		return nil, fail(CodeRequiredNull, "")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(data["req_data"], &items); err != nil {
		return nil, fail(CodeParamFormat, "error in parsing req_data, array type expected")
	}
	switch {
	case len(items) == 0:
		return nil, fail(CodeRequiredNull, "")
	case len(items) > 1:
		return nil, fail(CodeReqDataExtra, "")
	}
	return decodeObject(items[0], "req_data")
}

// str reads an optional string field: absent or null → "", false.
func str(o object, key string) (string, bool, *apiError) {
	raw := o[key]
	if isNull(raw) {
		return "", false, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false, fail(CodeParamFormat, fmt.Sprintf("error in parsing %s, string type expected", key))
	}
	if strings.TrimSpace(v) == "" {
		return "", false, fail(CodeParamFormat, key+" is null or empty")
	}
	return v, true, nil
}

// boolean reads an optional boolean field.
func boolean(o object, key string, def bool) (bool, *apiError) {
	if isNull(o[key]) {
		return def, nil
	}
	var v bool
	if err := json.Unmarshal(o[key], &v); err != nil {
		return false, fail(CodeParamFormat, fmt.Sprintf("error in parsing %s, boolean type expected", key))
	}
	return v, nil
}

// number reads an optional numeric field.
func number(o object, key string, def float64) (float64, *apiError) {
	if isNull(o[key]) {
		return def, nil
	}
	var v float64
	if err := json.Unmarshal(o[key], &v); err != nil {
		return 0, fail(CodeParamFormat, fmt.Sprintf("error in parsing %s, double type expected", key))
	}
	return v, nil
}

// parseActions reads "1,3,5": codes 1–5, at least one.
func parseActions(s string) ([]int, *apiError) {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 || n > 5 {
			return nil, fail(CodeParamFormat, "actions is invalid")
		}
		out = append(out, n)
	}
	return out, nil
}
