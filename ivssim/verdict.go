package ivssim

import (
	"context"
	"hash/fnv"
	"math"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/synth"
	"github.com/ivsbatch/ivsbatch/synth/tag"
)

// Verification codes and their official results and messages.
var verdicts = map[int][2]string{
	1000: {"valid", "Successful certification"},
	2001: {"invalid", "Inconsistent identity information"},
	2002: {"invalid", "Inconsistent face information"},
	2003: {"invalid", "Face image quality or format problem"},
	2006: {"invalid", "Id card photo does not exist"},
	3001: {"nonexistent", "Nonexistent identity information"},
}

func verdict(code int) ivs.Result {
	v := verdicts[code]
	return ivs.Result{VerificationResult: v[0], VerificationMessage: v[1], VerificationCode: code}
}

// evidence is what the face evidence (image or video) shows.
type evidence struct {
	person  int
	tagged  bool
	video   bool
	actions []int // shown in the video
}

// verify validates the media, then decides the verdict from the registry.
func (s *Server) verify(ctx context.Context, ep pipeline.Endpoint, q *simRequest) (ivs.Result, *apiError) {
	standard := ep == pipeline.EndpointStandard
	if e := q.require(standard); e != nil {
		return ivs.Result{}, e
	}
	var card *synth.Person
	if !q.text {
		p, e := s.readCards(q.card1, q.card2)
		if e != nil {
			return ivs.Result{}, e
		}
		card = &p
	}
	var ev evidence
	if standard {
		var e *apiError
		if ev, e = s.readEvidence(ctx, q); e != nil {
			return ivs.Result{}, e
		}
	}
	res := s.decide(standard, q, card, ev)
	if card != nil {
		res.IDCardResult = idcardResult(*card)
	}
	return res, nil
}

func (s *Server) readEvidence(ctx context.Context, q *simRequest) (evidence, *apiError) {
	if q.video != "" {
		vt, e := s.probe.checkVideo(ctx, q.video)
		if e != nil {
			return evidence{}, e
		}
		if !vt.tagged {
			return evidence{}, fail(CodeLiveness, "no face found in the video")
		}
		return evidence{person: vt.person, tagged: true, video: true, actions: vt.actions}, nil
	}
	t, found, e := faceTag(q.face)
	switch {
	case e != nil:
		return evidence{}, e
	case !found:
		return evidence{}, nil // no recognisable face: 2003
	case t.Kind != tag.KindFace:
		return evidence{}, fail(CodeFaceCompare, "the image shows an id card, not a face")
	case q.crop && len(q.face) > cropB64Limit && t.Person%10 == 9:
		return evidence{}, fail(CodeFaceDetect, "0 faces found after cropping")
	}
	return evidence{person: t.Person, tagged: true}, nil
}

// decide applies the verdict rules: 3001, 2001, then (standard only) 2006,
// liveness and face comparison.
func (s *Server) decide(standard bool, q *simRequest, card *synth.Person, ev evidence) ivs.Result {
	var p synth.Person
	if card != nil {
		p = *card
	} else {
		found := false
		if p, found = s.cfg.Registry.ByIDNumber(q.id); !found {
			return verdict(3001)
		}
	}
	switch {
	case p.Record == synth.RecordNonexistent:
		return verdict(3001)
	case card == nil && q.name != p.Name:
		return verdict(2001)
	case !standard:
		return verdict(1000)
	case p.Record == synth.RecordNoPhoto:
		return verdict(2006)
	case !ev.tagged:
		return verdict(2003)
	}
	var vr *ivs.VideoResult
	if ev.video {
		v := liveness(q.actions, ev.actions)
		vr = &v
		if !v.Alive {
			res := verdict(2003)
			res.VideoResult = vr
			return res
		}
	}
	match := ev.person == p.Index
	res := verdict(1000)
	if !match {
		res = verdict(2002)
	}
	res.Similarity = similarity(p.Index, ev.person, q.detail, match)
	res.VideoResult = vr
	return res
}

// similarity is deterministic per (claimed, shown) pair: 80–99 for a match,
// 5–35 otherwise, on 0–100 (an integer) or, with detail, 0–1000 (one decimal).
func similarity(claimed, shown int, detail, match bool) *ivs.Similarity {
	h := fnv.New32a()
	_, _ = h.Write([]byte{byte(claimed), byte(claimed >> 8), byte(claimed >> 16), byte(shown), byte(shown >> 8), byte(shown >> 16)})
	v := 5 + float64(h.Sum32()%3000)/100
	if match {
		v = 80 + float64(h.Sum32()%1900)/100
	}
	if detail {
		v = math.Round(v*100) / 10
	} else {
		v = math.Round(v)
	}
	sim := ivs.Similarity(v)
	return &sim
}
