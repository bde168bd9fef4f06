package ivs

// ShapeField is one input field of a request and the shapes that use and
// require it. ShapeFields is the one table of these rules: the client
// (ValidateRequest) and the manifest reader (package ingest) both check
// against it.
type ShapeField struct {
	Request  string // the field's name in the IVS request body
	Manifest string // the manifest column that carries it
	Used     func(Shape) bool
	Required func(Shape) bool
}

func never(Shape) bool { return false }

func usesDetail(s Shape) bool { return s.Endpoint() == EndpointStandard }

// ShapeFields lists every input field with the shapes that use and require it.
var ShapeFields = []ShapeField{
	{"verification_name", "name", Shape.UsesText, Shape.UsesText},
	{"verification_id", "id_number", Shape.UsesText, Shape.UsesText},
	{"idcard_image1", "idcard_image1", Shape.UsesCard, Shape.UsesCard},
	{"idcard_image2", "idcard_image2", Shape.UsesCard, never},
	{"face_image", "face_image", Shape.UsesFaceImage, Shape.UsesFaceImage},
	{"video", "video", Shape.UsesVideo, Shape.UsesVideo},
	{"actions", "actions", Shape.UsesVideo, Shape.UsesVideo},
	{"nod_threshold", "nod_threshold", Shape.UsesVideo, never},
	{"detail", "detail", usesDetail, never},
	{"crop", "crop", Shape.UsesFaceImage, never},
}

// CheckFields returns the first field of ShapeFields that s requires and
// isSet says is missing, or that is set but not part of s, with the reason
// ("required by shape name", "not part of shape card"); reason is "" when
// every field fits the shape.
func (s Shape) CheckFields(isSet func(ShapeField) bool) (field ShapeField, reason string) {
	for _, f := range ShapeFields {
		set := isSet(f)
		switch {
		case f.Required(s) && !set:
			return f, "required by shape " + string(s)
		case set && !f.Used(s):
			return f, "not part of shape " + string(s)
		}
	}
	return ShapeField{}, ""
}
