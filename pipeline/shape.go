package pipeline

// Endpoint is the path of one of the two IVS operations. Each has its own
// queue, rate limit and request shapes.
type Endpoint string

// The two IVS endpoints. "extention" is the service's real spelling.
const (
	EndpointStandard  Endpoint = "/v2.0/ivs-standard"
	EndpointExtention Endpoint = "/v2.0/ivs-idcard-extention"
)

// Shape names one of the six request shapes a record can take.
type Shape string

// The six request shapes, named by what the caller supplies.
const (
	ShapeNameFaceImage Shape = "name_face_image" // verification_name, verification_id, face_image → standard
	ShapeCardFaceImage Shape = "card_face_image" // idcard_image1, idcard_image2?, face_image → standard
	ShapeNameVideo     Shape = "name_video"      // verification_name, verification_id, video, actions → standard
	ShapeCardVideo     Shape = "card_video"      // idcard_image1, idcard_image2?, video, actions → standard
	ShapeName          Shape = "name"            // verification_name, verification_id → extention
	ShapeCard          Shape = "card"            // idcard_image1, idcard_image2? → extention
)

// Shapes lists every shape in a stable order.
var Shapes = []Shape{ShapeNameFaceImage, ShapeCardFaceImage, ShapeNameVideo, ShapeCardVideo, ShapeName, ShapeCard}

// Valid reports whether s is one of the six shapes.
func (s Shape) Valid() bool {
	for _, v := range Shapes {
		if s == v {
			return true
		}
	}
	return false
}

// Endpoint returns the endpoint that serves shape s.
func (s Shape) Endpoint() Endpoint {
	if s == ShapeName || s == ShapeCard {
		return EndpointExtention
	}
	return EndpointStandard
}

// UsesText reports whether the shape sends verification_name and verification_id.
func (s Shape) UsesText() bool {
	return s == ShapeNameFaceImage || s == ShapeNameVideo || s == ShapeName
}

// UsesCard reports whether the shape sends idcard_image1 (and optionally idcard_image2).
func (s Shape) UsesCard() bool {
	return s == ShapeCardFaceImage || s == ShapeCardVideo || s == ShapeCard
}

// UsesFaceImage reports whether the shape sends face_image.
func (s Shape) UsesFaceImage() bool { return s == ShapeNameFaceImage || s == ShapeCardFaceImage }

// UsesVideo reports whether the shape sends video and actions.
func (s Shape) UsesVideo() bool { return s == ShapeNameVideo || s == ShapeCardVideo }

// ShapeField is one input field of a request and the shapes that use and
// require it. ShapeFields is the one table of these rules: the manifest
// reader (package ingest), the processor (Call.Check) and the IVS client
// all check against it.
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
