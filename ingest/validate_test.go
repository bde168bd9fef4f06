package ingest_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

func ptr[T any](v T) *T { return &v }

func TestValidateGoodRows(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		v    map[string]string
		want pipeline.Input
	}{
		{"name_face_image", map[string]string{"ref": "r1", "shape": "name_face_image", "name": " 张三 ", "id_number": id15,
			"face_image": face, "detail": "TRUE", "crop": "0"},
			pipeline.Input{Ref: "r1", Shape: pipeline.ShapeNameFaceImage, Name: name, IDNumber: id18, FaceImage: face,
				Detail: ptr(true), Crop: ptr(false)}},
		{"card_face_image", map[string]string{"shape": "Card_Face_Image", "idcard_image1": card1, "idcard_image2": card2,
			"face_image": face, "crop": "1"},
			pipeline.Input{Ref: "line-7", Shape: pipeline.ShapeCardFaceImage, IDCard1: card1, IDCard2: card2, FaceImage: face,
				Crop: ptr(true)}},
		{"name_video", map[string]string{"shape": "name_video", "name": "买买提 . 艾力", "id_number": "11010519491231002x",
			"video": video, "actions": " 1, 3 ", "nod_threshold": "12.5", "detail": "false"},
			pipeline.Input{Ref: "line-7", Shape: pipeline.ShapeNameVideo, Name: "买买提·艾力", IDNumber: id18, Video: video,
				Actions: "1,3", NodThreshold: ptr(12.5), Detail: ptr(false)}},
		{"card_video", map[string]string{"shape": "card_video", "idcard_image1": card1, "video": video, "actions": "5"},
			pipeline.Input{Ref: "line-7", Shape: pipeline.ShapeCardVideo, IDCard1: card1, Video: video, Actions: "5"}},
		{"name", map[string]string{"shape": "name", "name": name, "id_number": id18b},
			pipeline.Input{Ref: "line-7", Shape: pipeline.ShapeName, Name: name, IDNumber: id18b}},
		{"card", map[string]string{"shape": "card", "idcard_image1": card1},
			pipeline.Input{Ref: "line-7", Shape: pipeline.ShapeCard, IDCard1: card1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			row := ingest.Validate(ingest.Fields{Line: 7, Values: c.v})
			if row.Err != nil {
				t.Fatalf("unexpected error %v", row.Err)
			}
			c.want.Line = 7
			if d := cmp.Diff(c.want, row.Input); d != "" || row.Line != 7 {
				t.Errorf("input (-want +got):\n%s", d)
			}
		})
	}
}

func TestValidateBadRows(t *testing.T) {
	t.Parallel()
	nf := func(kv ...string) map[string]string { // a name_face_image row with overrides
		m := map[string]string{"shape": "name_face_image", "name": name, "id_number": id18, "face_image": face}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	nv := func(kv ...string) map[string]string { // a name_video row with overrides
		m := map[string]string{"shape": "name_video", "name": name, "id_number": id18, "video": video, "actions": "1"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		name        string
		v           map[string]string
		field, code string
		review      bool
	}{
		{"unknown shape", nf("shape", "selfie"), "shape", ingest.CodeShape, false},
		{"missing face", nf("face_image", ""), "face_image", ingest.CodeShape, false},
		{"missing id", nf("id_number", ""), "id_number", ingest.CodeShape, false},
		{"missing name", nf("name", " "), "name", ingest.CodeShape, false},
		{"foreign video", nf("video", video), "video", ingest.CodeShape, false},
		{"foreign card", nf("idcard_image1", card1), "idcard_image1", ingest.CodeShape, false},
		{"foreign actions", nf("actions", "1"), "actions", ingest.CodeShape, false},
		{"foreign nod_threshold", nf("nod_threshold", "10"), "nod_threshold", ingest.CodeShape, false},
		{"crop on video shape", nv("crop", "true"), "crop", ingest.CodeShape, false},
		{"detail on extention shape", map[string]string{"shape": "card", "idcard_image1": card1, "detail": "true"}, "detail", ingest.CodeShape, false},
		{"card without image1", map[string]string{"shape": "card", "idcard_image2": card2}, "idcard_image1", ingest.CodeShape, false},
		{"bad check char", nf("id_number", badCheck), "id_number", identity.CodeIDCheck, false},
		{"id too short", nf("id_number", "1101051949"), "id_number", identity.CodeIDLength, false},
		{"id letters", nf("id_number", "1101051949123A002X"), "id_number", identity.CodeIDChars, false},
		{"id bad date", nf("id_number", "110105194902300025"), "id_number", identity.CodeIDDate, false},
		{"latin name", nf("name", "Zhang San"), "name", identity.CodeNameChars, false},
		{"pua name", nf("name", puaName), "name", identity.CodeNamePrivateUse, true},
		{"http media", nf("face_image", "http://x/face.jpg"), "face_image", ingest.CodeMediaRef, false},
		{"plain path media", nf("face_image", "/data/face.jpg"), "face_image", ingest.CodeMediaRef, false},
		{"s3 without key", nf("face_image", "s3://media/"), "face_image", ingest.CodeMediaRef, false},
		{"non-utf8 media", nf("face_image", "s3://media/\xff.jpg"), "face_image", ingest.CodeMediaRef, false},
		{"bad card2 ref", map[string]string{"shape": "card", "idcard_image1": card1, "idcard_image2": "card2.jpg"}, "idcard_image2", ingest.CodeMediaRef, false},
		{"action 6", nv("actions", "1,6"), "actions", ingest.CodeActions, false},
		{"action repeated", nv("actions", "3,3"), "actions", ingest.CodeActions, false},
		{"action garbage", nv("actions", "nod"), "actions", ingest.CodeActions, false},
		{"nod 0", nv("nod_threshold", "0"), "nod_threshold", ingest.CodeNodThreshold, false},
		{"nod 91", nv("nod_threshold", "91"), "nod_threshold", ingest.CodeNodThreshold, false},
		{"nod NaN", nv("nod_threshold", "NaN"), "nod_threshold", ingest.CodeNodThreshold, false},
		{"nod text", nv("nod_threshold", "ten"), "nod_threshold", ingest.CodeNodThreshold, false},
		{"detail yes", nf("detail", "yes"), "detail", ingest.CodeBool, false},
		{"crop t", nf("crop", "t"), "crop", ingest.CodeBool, false},
		{"ref too long", nf("ref", strings.Repeat("r", ingest.DefaultLimits.RefBytes+1)), "ref", ingest.CodeRef, false},
		{"ref control char", nf("ref", "a\x00b"), "ref", ingest.CodeRef, false},
		{"no shape inferable", map[string]string{"face_image": face}, "shape", ingest.CodeShape, false},
		{"ambiguous text and card", map[string]string{"name": name, "id_number": id18, "idcard_image1": card1}, "shape", ingest.CodeShape, false},
		{"ambiguous face and video", map[string]string{"idcard_image1": card1, "face_image": face, "video": video}, "shape", ingest.CodeShape, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			row := ingest.Validate(ingest.Fields{Line: 12, Values: c.v})
			if row.Err == nil {
				t.Fatalf("no error, input %+v", row.Input)
			}
			if row.Err.Field != c.field || row.Err.Code != c.code || row.Err.Line != 12 || row.Err.Review() != c.review {
				t.Errorf("got %+v (review %t), want field %s code %s review %t", *row.Err, row.Err.Review(), c.field, c.code, c.review)
			}
			if want := "line 12: " + c.field + ": "; !strings.HasPrefix(row.Err.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", row.Err.Error(), want)
			}
			noPII(t, row, c.v["name"], c.v["id_number"], strings.TrimSpace(c.v["name"]))
			if row.Input.Ref == "" || strings.ContainsRune(row.Input.Ref, 0) {
				t.Errorf("stored ref %q", row.Input.Ref)
			}
		})
	}
}

func TestValidateKeepsRawFieldsOfRefusedRow(t *testing.T) {
	t.Parallel()
	row := ingest.Validate(ingest.Fields{Line: 3, Values: map[string]string{"ref": "x", "shape": "name_face_image",
		"name": name, "id_number": badCheck, "face_image": face}})
	if row.Err == nil || row.Input.IDNumber != badCheck || row.Input.Name != name || row.Input.FaceImage != face ||
		row.Input.Ref != "x" {
		t.Fatalf("got %+v, %v", row.Input, row.Err)
	}
	if strings.Contains(row.Err.Error(), badCheck) {
		t.Fatalf("message repeats the id: %s", row.Err)
	}
}

func TestInferShape(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		v    map[string]string
		want pipeline.Shape
	}{
		{map[string]string{"name": name, "id_number": id18, "face_image": face}, pipeline.ShapeNameFaceImage},
		{map[string]string{"idcard_image1": card1, "face_image": face}, pipeline.ShapeCardFaceImage},
		{map[string]string{"name": name, "id_number": id18, "video": video, "actions": "1,2"}, pipeline.ShapeNameVideo},
		{map[string]string{"idcard_image1": card1, "idcard_image2": card2, "video": video, "actions": "4"}, pipeline.ShapeCardVideo},
		{map[string]string{"name": name, "id_number": id18}, pipeline.ShapeName},
		{map[string]string{"idcard_image1": card1}, pipeline.ShapeCard},
	} {
		row := ingest.Validate(ingest.Fields{Line: 2, Values: c.v})
		if row.Err != nil || row.Input.Shape != c.want {
			t.Errorf("%v: shape %q err %v, want %s", c.v, row.Input.Shape, row.Err, c.want)
		}
	}
	// A name without id still infers a text shape, then fails on the missing id.
	row := ingest.Validate(ingest.Fields{Line: 2, Values: map[string]string{"name": name, "face_image": face}})
	if row.Input.Shape != pipeline.ShapeNameFaceImage || code(row) != ingest.CodeShape || row.Err.Field != "id_number" {
		t.Errorf("name only: %q %v", row.Input.Shape, row.Err)
	}
}
