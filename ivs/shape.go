package ivs

// Endpoint is the path of one of the two IVS operations.
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
