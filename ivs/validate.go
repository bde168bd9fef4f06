package ivs

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxUUIDLen is the longest meta.uuid IVS accepts.
const MaxUUIDLen = 64

// ValidateRequest checks what the client can know without looking at the
// media: a known shape, a uuid of 1–64 characters, every required field of
// the shape present, no field of another shape, well-formed actions and a
// nod_threshold within 1–90. It returns a *RequestError naming the field (never
// its value), or nil. Content rules (id check characters, name characters,
// image sizes) belong to the identity and media packages, which run earlier.
func ValidateRequest(req Request) error {
	if !req.Shape.Valid() {
		return &RequestError{Field: "shape", Reason: "unknown shape " + strconv.Quote(string(req.Shape))}
	}
	if req.UUID == "" {
		return &RequestError{Field: "meta.uuid", Reason: "empty"}
	}
	if n := utf8.RuneCountInString(req.UUID); n > MaxUUIDLen {
		return &RequestError{Field: "meta.uuid", Reason: "longer than 64 characters (" + strconv.Itoa(n) + ")"}
	}
	it, s := req.Item, req.Shape
	set := map[string]bool{
		"verification_name": it.VerificationName != "", "verification_id": it.VerificationID != "",
		"idcard_image1": it.IDCardImage1 != "", "idcard_image2": it.IDCardImage2 != "", "face_image": it.FaceImage != "",
		"video": it.Video != "", "actions": it.Actions != "", "nod_threshold": it.NodThreshold != nil,
		"detail": it.Detail != nil, "crop": it.Crop != nil,
	}
	if f, reason := s.CheckFields(func(f ShapeField) bool { return set[f.Request] }); reason != "" {
		return &RequestError{Field: f.Request, Reason: reason}
	}
	if s.UsesVideo() {
		if _, err := ParseActions(it.Actions); err != nil {
			return err
		}
		if t := it.NodThreshold; t != nil && (*t < 1 || *t > 90) {
			return &RequestError{Field: "nod_threshold", Reason: "outside 1–90 degrees"}
		}
	}
	return nil
}

// ParseActions parses the comma-separated liveness action codes (1 shake left,
// 2 shake right, 3 nod, 4 mouth, 5 blink). It refuses an empty list, unknown
// codes and repeats.
func ParseActions(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, &RequestError{Field: "actions", Reason: "empty"}
	}
	var out []int
	seen := map[int]bool{}
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 || n > 5 {
			return nil, &RequestError{Field: "actions", Reason: "action " + strconv.Quote(p) + " is not one of 1–5"}
		}
		if seen[n] {
			return nil, &RequestError{Field: "actions", Reason: "action " + strconv.Itoa(n) + " repeated"}
		}
		seen[n] = true
		out = append(out, n)
	}
	return out, nil
}
