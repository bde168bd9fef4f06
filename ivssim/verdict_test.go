package ivssim_test

import (
	"net/http"
	"testing"

	"github.com/ivsbatch/ivsbatch/ivssim/ivssimtest"
	"github.com/ivsbatch/ivsbatch/synth/tag"
)

func TestVerdicts(t *testing.T) {
	t.Parallel()
	_, base := start(t, nil)
	std, ext := "/v2.0/ivs-standard", "/v2.0/ivs-idcard-extention"
	p, other := person(pMain), person(pOther)
	text := func(i int) map[string]any {
		q := person(i)
		return map[string]any{"verification_name": q.Name, "verification_id": q.IDNumber}
	}
	cards := func(i int) map[string]any {
		return map[string]any{"idcard_image1": card(t, tag.KindIDCardFront, i), "idcard_image2": card(t, tag.KindIDCardBack, i)}
	}
	untagged := b64(ivssimtest.JPEG(t, ivssimtest.Image{W: 640, H: 800, Quality: 80, Noise: 8}))
	cases := []struct {
		name, path string
		item       map[string]any
		code       int
		simMin     float64 // similarity range when > 0
		simMax     float64
		card       bool // idcard_result expected
		alive      *bool
	}{
		{name: "name face match", path: std, item: nameFace(t, pMain, pMain), code: 1000, simMin: 80, simMax: 99},
		{name: "name face detail", path: std, item: with(nameFace(t, pMain, pMain), "detail", true), code: 1000, simMin: 800, simMax: 999},
		{name: "name face 15-digit id", path: std, item: with(nameFace(t, pMain, pMain), "verification_id", ivssimtest.Old15(p.IDNumber)), code: 1000, simMin: 80, simMax: 99},
		{name: "name face other", path: std, item: nameFace(t, pMain, pOther), code: 2002, simMin: 5, simMax: 35},
		{name: "name face wrong name", path: std, item: with(nameFace(t, pMain, pMain), "verification_name", other.Name), code: 2001},
		{name: "name face PUA name", path: std, item: with(nameFace(t, pMain, pMain), "verification_name", "张\ue000"), code: 2001},
		{name: "name face untagged", path: std, item: with(nameFace(t, pMain, pMain), "face_image", untagged), code: 2003},
		{name: "name face no photo", path: std, item: nameFace(t, pNoPhoto, pNoPhoto), code: 2006},
		{name: "name face nonexistent", path: std, item: nameFace(t, pNonexistent, pNonexistent), code: 3001},
		{name: "name face unknown id", path: std, item: with(nameFace(t, pMain, pMain), "verification_id", fixCheck("11010119991231999")), code: 3001},
		{name: "crop off big face", path: std, item: with(nameFace(t, pCrop, pCrop), "face_image", bigFace(t, pCrop), "crop", false), code: 1000, simMin: 80, simMax: 99},
		{name: "card face match", path: std, item: with(cards(pMain), "face_image", face(t, pMain)), code: 1000, simMin: 80, simMax: 99, card: true},
		{name: "card front only", path: std, item: map[string]any{"idcard_image1": card(t, tag.KindIDCardFront, pMain), "face_image": face(t, pMain)}, code: 1000, simMin: 80, simMax: 99, card: true},
		{name: "card face other", path: std, item: with(cards(pMain), "face_image", face(t, pOther)), code: 2002, simMin: 5, simMax: 35, card: true},
		{name: "name video alive", path: std, item: with(text(pMain), "video", video(t, pMain, 1, 3), "actions", "1,3"), code: 1000, simMin: 80, simMax: 99, alive: ptr(true)},
		{name: "name video not alive", path: std, item: with(text(pMain), "video", video(t, pMain, 1, 3), "actions", "3,1"), code: 2003, alive: ptr(false)},
		{name: "name video other", path: std, item: with(text(pMain), "video", video(t, pOther, 1, 3), "actions", "1"), code: 2002, simMin: 5, simMax: 35, alive: ptr(true)},
		{name: "card video", path: std, item: with(cards(pMain), "video", video(t, pMain, 1, 3), "actions", "3", "nod_threshold", 20), code: 1000, simMin: 80, simMax: 99, card: true, alive: ptr(true)},
		{name: "name only", path: ext, item: text(pMain), code: 1000},
		{name: "name only mismatch", path: ext, item: with(text(pMain), "verification_name", other.Name), code: 2001},
		{name: "name only nonexistent", path: ext, item: text(pNonexistent), code: 3001},
		{name: "name only no photo", path: ext, item: text(pNoPhoto), code: 1000},
		{name: "card only", path: ext, item: cards(pMain), code: 1000, card: true},
		{name: "card only nonexistent", path: ext, item: cards(pNonexistent), code: 3001, card: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := call(t, base, tc.path, body("u-"+tc.name, tc.item), nil)
			if a.status != http.StatusOK {
				t.Fatalf("status %d %s %.300s", a.status, a.code, a.raw)
			}
			if a.body.Meta.UUID != "u-"+tc.name || a.body.Result.Count != 1 || len(a.body.Result.RespData) != 1 {
				t.Fatalf("envelope %+v", a.body)
			}
			r := a.body.Result.RespData[0]
			if r.VerificationCode != tc.code {
				t.Fatalf("code %d (%s), want %d", r.VerificationCode, r.VerificationMessage, tc.code)
			}
			switch {
			case tc.simMax > 0 && (r.Similarity == nil || float64(*r.Similarity) < tc.simMin || float64(*r.Similarity) > tc.simMax):
				t.Errorf("similarity %v, want %v–%v", r.Similarity, tc.simMin, tc.simMax)
			case tc.simMax == 0 && r.Similarity != nil:
				t.Errorf("similarity %v, want none", *r.Similarity)
			}
			if tc.card != (r.IDCardResult != nil) || (tc.card && r.IDCardResult.Number != person(cardPerson(tc.name)).IDNumber) {
				t.Errorf("idcard_result %+v, want present=%v", r.IDCardResult, tc.card)
			}
			if (tc.alive == nil) != (r.VideoResult == nil) || (tc.alive != nil && r.VideoResult.Alive != *tc.alive) {
				t.Errorf("video_result %+v, want alive %v", r.VideoResult, tc.alive)
			}
		})
	}
}

func cardPerson(name string) int {
	if name == "card only nonexistent" {
		return pNonexistent
	}
	return pMain
}

func ptr[T any](v T) *T { return &v }
