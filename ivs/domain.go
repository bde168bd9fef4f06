package ivs

import "github.com/ivsbatch/ivsbatch/pipeline"

// Transition aliases: these names moved to package pipeline (the domain).
// They are removed once every caller uses pipeline's.
type (
	Shape        = pipeline.Shape
	Endpoint     = pipeline.Endpoint
	ShapeField   = pipeline.ShapeField
	Class        = pipeline.Class
	RequestError = pipeline.RequestError
	IDCardResult = pipeline.IDCardResult
	ActionResult = pipeline.ActionResult
)

const (
	EndpointStandard   = pipeline.EndpointStandard
	EndpointExtention  = pipeline.EndpointExtention
	ShapeNameFaceImage = pipeline.ShapeNameFaceImage
	ShapeCardFaceImage = pipeline.ShapeCardFaceImage
	ShapeNameVideo     = pipeline.ShapeNameVideo
	ShapeCardVideo     = pipeline.ShapeCardVideo
	ShapeName          = pipeline.ShapeName
	ShapeCard          = pipeline.ShapeCard
	ClassUnknown       = pipeline.ClassUnknown
	ClassVerdict       = pipeline.ClassVerdict
	ClassBilledOdd     = pipeline.ClassBilledOdd
	ClassInputError    = pipeline.ClassInputError
	ClassTransient     = pipeline.ClassTransient
	ClassThrottled     = pipeline.ClassThrottled
	ClassAuthRefresh   = pipeline.ClassAuthRefresh
	ClassAccountStop   = pipeline.ClassAccountStop
	ClassAmbiguous     = pipeline.ClassAmbiguous
)

var (
	Shapes       = pipeline.Shapes
	ShapeFields  = pipeline.ShapeFields
	ParseClass   = pipeline.ParseClass
	ParseActions = pipeline.ParseActions
)
