package ivssim

import "fmt"

// readFields reads and type-checks every field of the item. Which fields
// are required depends on the endpoint and is checked by require.
func (q *simRequest) readFields(item object) *apiError {
	var e *apiError
	targets := []struct {
		key string
		dst *string
	}{
		{"verification_name", &q.name}, {"verification_id", &q.id}, {"idcard_image1", &q.card1},
		{"idcard_image2", &q.card2}, {"face_image", &q.face}, {"video", &q.video}, {"actions", new(string)},
	}
	for _, t := range targets {
		if *t.dst, _, e = str(item, t.key); e != nil {
			return e
		}
	}
	actions := *targets[6].dst
	if q.detail, e = boolean(item, "detail", false); e != nil {
		return e
	}
	if q.crop, e = boolean(item, "crop", true); e != nil {
		return e
	}
	nod, e := number(item, "nod_threshold", 10)
	if e != nil {
		return e
	}
	if nod < 1 || nod > 90 {
		return fail(CodeParamFormat, "nod_threshold must be in [1, 90]")
	}
	if actions != "" {
		if q.actions, e = parseActions(actions); e != nil {
			return e
		}
	}
	return nil
}

// require checks the fields the endpoint needs and the text identity.
func (q *simRequest) require(standard bool) *apiError {
	q.text = q.name != "" && q.id != ""
	if !q.text && q.card1 == "" {
		return fail(CodeRequiredNull, "")
	}
	if standard {
		switch {
		case q.video != "" && len(q.actions) == 0:
			return fail(CodeRequiredNull, "")
		case q.video == "" && q.face == "":
			return fail(CodeRequiredNull, "")
		}
	}
	if !q.text {
		return nil
	}
	if len(q.name) > maxNameBytes {
		return fail(CodeParamFormat, fmt.Sprintf("the length of verification_name exceeds %d bytes", maxNameBytes))
	}
	if !validName(q.name) {
		return fail(CodeParamFormat, "verification_name contains invalid characters")
	}
	id, msg := normalizeID(q.id)
	if msg != "" {
		return fail(CodeParamFormat, msg)
	}
	q.id = id
	return nil
}
