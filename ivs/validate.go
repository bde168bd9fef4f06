package ivs

import "github.com/ivsbatch/ivsbatch/pipeline"

// ValidateRequest checks what the client can know without looking at the
// media, by the domain's rules (pipeline.CheckRequest): a known shape, a
// uuid of 1–64 characters, every required field of the shape present, no
// field of another shape, well-formed actions and a nod_threshold within
// 1–90. It returns a *pipeline.RequestError naming the field (never its
// value), or nil.
func ValidateRequest(req Request) error {
	it := req.Item
	set := map[string]bool{
		"verification_name": it.VerificationName != "", "verification_id": it.VerificationID != "",
		"idcard_image1": it.IDCardImage1 != "", "idcard_image2": it.IDCardImage2 != "", "face_image": it.FaceImage != "",
		"video": it.Video != "", "actions": it.Actions != "", "nod_threshold": it.NodThreshold != nil,
		"detail": it.Detail != nil, "crop": it.Crop != nil,
	}
	return pipeline.CheckRequest(req.Shape, req.UUID, func(f string) bool { return set[f] }, it.Actions, it.NodThreshold)
}
