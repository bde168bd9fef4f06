package ivssim_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/ivssim/ivssimtest"
	"github.com/ivsbatch/ivsbatch/synth/tag"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func pngImage(t testing.TB) string {
	img := image.NewRGBA(image.Rect(0, 0, 400, 400))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7919 % 251)
	}
	img.Set(0, 0, color.Black)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b64(b.Bytes())
}

// with returns a copy of item with key set (nil value deletes key).
func with(item map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range item {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestValidationCodes(t *testing.T) {
	t.Parallel()
	_, base := start(t, nil)
	p := person(pMain)
	good := nameFace(t, pMain, pMain)
	front, back := card(t, tag.KindIDCardFront, pMain), card(t, tag.KindIDCardBack, pMain)
	vid := video(t, pMain, 1, 3)
	std, ext := "/v2.0/ivs-standard", "/v2.0/ivs-idcard-extention"
	small := b64(ivssimtest.JPEG(t, ivssimtest.Image{W: 200, H: 200, Quality: 95, Noise: 200}))
	huge := b64(ivssimtest.JPEG(t, ivssimtest.Image{W: 4100, H: 400, Quality: 90, Noise: 40}))
	portrait := b64(ivssimtest.JPEG(t, ivssimtest.Image{W: 630, H: 1000, Quality: 85, Noise: 24, Tag: &tag.Tag{Kind: tag.KindIDCardFront, Person: pMain}}))
	untaggedCard := b64(ivssimtest.JPEG(t, ivssimtest.Image{W: 1000, H: 630, Quality: 85, Noise: 24}))
	cases := []struct {
		name, path string
		raw        string // body; "" = body("u", item)
		item       map[string]any
		noCT       bool
		code       string
	}{
		{name: "no content type", path: std, item: good, noCT: true, code: "IVS.0012"},
		{name: "meta missing", path: std, raw: `{"data":{"req_data":[{}]}}`, code: "IVS.0001"},
		{name: "meta null", path: std, raw: `{"meta":null,"data":{"req_data":[{}]}}`, code: "IVS.0001"},
		{name: "meta empty", path: std, raw: `{"meta":{},"data":{"req_data":[{}]}}`, code: "IVS.0001"},
		{name: "uuid empty", path: std, raw: `{"meta":{"uuid":""},"data":{"req_data":[{}]}}`, code: "IVS.0001"},
		{name: "two items", path: std, raw: `{"meta":{"uuid":"u"},"data":{"req_data":[{},{}]}}`, code: "IVS.0002"},
		{name: "data null", path: std, raw: `{"meta":{"uuid":"u"},"data":null}`, code: "IVS.0003"},
		{name: "req_data missing", path: std, raw: `{"meta":{"uuid":"u"},"data":{}}`, code: "IVS.0003"},
		{name: "req_data empty", path: std, raw: `{"meta":{"uuid":"u"},"data":{"req_data":[]}}`, code: "IVS.0003"},
		{name: "no face no video", path: std, item: with(good, "face_image", nil), code: "IVS.0003"},
		{name: "name without id", path: std, item: with(good, "verification_id", nil), code: "IVS.0003"},
		{name: "face null", path: std, item: with(good, "face_image", nil, "x", 1), code: "IVS.0003"},
		{name: "video without actions", path: std, item: with(good, "face_image", nil, "video", vid), code: "IVS.0003"},
		{name: "extention nothing", path: ext, item: map[string]any{"verification_name": p.Name}, code: "IVS.0003"},
		{name: "face b64 small", path: std, item: with(good, "face_image", strings.Repeat("A", 1000)), code: "IVS.0004"},
		{name: "face b64 huge", path: std, item: with(good, "face_image", strings.Repeat("A", 4<<20+4)), code: "IVS.0004"},
		{name: "card b64 small", path: ext, item: map[string]any{"idcard_image1": "QUJD"}, code: "IVS.0004"},
		{name: "video b64 small", path: std, item: with(good, "face_image", nil, "video", "QUJD", "actions", "1"), code: "IVS.0005"},
		{name: "video b64 huge", path: std, item: with(good, "face_image", nil, "video", strings.Repeat("A", 10<<20+4), "actions", "1"), code: "IVS.0005"},
		{name: "face not base64", path: std, item: with(good, "face_image", strings.Repeat("!", 20000)), code: "IVS.0006"},
		{name: "face png", path: std, item: with(good, "face_image", pngImage(t)), code: "IVS.0006"},
		{name: "face too small", path: std, item: with(good, "face_image", small), code: "IVS.0006"},
		{name: "face too wide", path: std, item: with(good, "face_image", huge), code: "IVS.0006"},
		{name: "card png", path: ext, item: map[string]any{"idcard_image1": pngImage(t)}, code: "IVS.0007"},
		{name: "card portrait", path: ext, item: map[string]any{"idcard_image1": portrait}, code: "IVS.0007"},
		{name: "card untagged", path: ext, item: map[string]any{"idcard_image1": untaggedCard}, code: "IVS.0007"},
		{name: "card back only", path: ext, item: map[string]any{"idcard_image1": back}, code: "IVS.0007"},
		{name: "cards of two people", path: ext, item: map[string]any{"idcard_image1": front, "idcard_image2": card(t, tag.KindIDCardBack, pOther)}, code: "IVS.0007"},
		{name: "card as face", path: std, item: with(good, "face_image", front), code: "IVS.0010"},
		{name: "video garbage", path: std, item: with(good, "face_image", nil, "video", b64(bytes.Repeat([]byte{1, 2, 3}, 5000)), "actions", "1"), code: "IVS.0008"},
		{name: "video untagged", path: std, item: with(good, "face_image", nil, "video", b64(ivssimtest.Video(t, -1, nil, 2*time.Second)), "actions", "1"), code: "IVS.0008"},
		{name: "video too long", path: std, item: with(good, "face_image", nil, "video", b64(ivssimtest.Video(t, pMain, []int{1}, 16*time.Second)), "actions", "1"), code: "IVS.0008"},
		{name: "video codec", path: std, item: with(good, "face_image", nil, "video", b64(ivssimtest.VideoAs(t, pMain, []int{1}, 2*time.Second, "avi", "mjpeg")), "actions", "1"), code: "IVS.0008"},
		{name: "video container", path: std, item: with(good, "face_image", nil, "video", b64(ivssimtest.VideoAs(t, pMain, []int{1}, 2*time.Second, "mpegts", "libx264")), "actions", "1"), code: "IVS.0008"},
		{name: "crop path", path: std, item: with(nameFace(t, pCrop, pCrop), "face_image", bigFace(t, pCrop)), code: "IVS.0009"},
		{name: "garbage json", path: std, raw: `{"meta":`, code: "IVS.0011"},
		{name: "json array", path: std, raw: `[1,2]`, code: "IVS.0011"},
		{name: "meta string", path: std, raw: `{"meta":"x","data":{"req_data":[{}]}}`, code: "IVS.0011"},
		{name: "uuid number", path: std, raw: `{"meta":{"uuid":5},"data":{"req_data":[{}]}}`, code: "IVS.0011"},
		{name: "uuid too long", path: std, raw: string(body(strings.Repeat("u", 65), good)), code: "IVS.0011"},
		{name: "req_data object", path: std, raw: `{"meta":{"uuid":"u"},"data":{"req_data":{}}}`, code: "IVS.0011"},
		{name: "item string", path: std, raw: `{"meta":{"uuid":"u"},"data":{"req_data":["x"]}}`, code: "IVS.0011"},
		{name: "name number", path: std, item: with(good, "verification_name", 12), code: "IVS.0011"},
		{name: "name latin", path: std, item: with(good, "verification_name", "Zhang San"), code: "IVS.0011"},
		{name: "name empty", path: std, item: with(good, "verification_name", ""), code: "IVS.0011"},
		{name: "name too long", path: std, item: with(good, "verification_name", strings.Repeat("张", 50)), code: "IVS.0011"},
		{name: "id 17 long", path: std, item: with(good, "verification_id", p.IDNumber[:17]), code: "IVS.0011"},
		{name: "id check char", path: std, item: with(good, "verification_id", p.IDNumber[:17]+badCheck(p.IDNumber)), code: "IVS.0011"},
		{name: "id bad date", path: std, item: with(good, "verification_id", fixCheck(p.IDNumber[:10]+"1399"+p.IDNumber[14:17])), code: "IVS.0011"},
		{name: "id letters", path: std, item: with(good, "verification_id", "11010119600101100A"), code: "IVS.0011"},
		{name: "detail string", path: std, item: with(good, "detail", "true"), code: "IVS.0011"},
		{name: "crop number", path: std, item: with(good, "crop", 1), code: "IVS.0011"},
		{name: "nod zero", path: std, item: with(good, "face_image", nil, "video", vid, "actions", "1", "nod_threshold", 0), code: "IVS.0011"},
		{name: "nod string", path: std, item: with(good, "nod_threshold", "10"), code: "IVS.0011"},
		{name: "actions bad", path: std, item: with(good, "face_image", nil, "video", vid, "actions", "1,9"), code: "IVS.0011"},
		{name: "actions empty", path: std, item: with(good, "face_image", nil, "video", vid, "actions", ""), code: "IVS.0011"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := []byte(tc.raw)
			if tc.raw == "" {
				b = body("u-"+tc.name, tc.item)
			}
			a := call(t, base, tc.path, b, func(r *http.Request) {
				if tc.noCT {
					r.Header.Del("Content-Type")
				}
			})
			if a.status != http.StatusBadRequest || a.code != tc.code {
				t.Fatalf("got %d %s %.200s, want 400 %s", a.status, a.code, a.raw, tc.code)
			}
			if a.reqID == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
}

// bigFace is a face picture of person over the 90 KB crop threshold.
func bigFace(t testing.TB, person int) string {
	return cached(t, "bigface"+itoa(person), func() []byte {
		return ivssimtest.JPEG(t, ivssimtest.Image{W: 640, H: 800, Quality: 85, Noise: 24, Tag: &tag.Tag{Kind: tag.KindFace, Person: person}})
	})
}

// badCheck returns a check character other than id's.
func badCheck(id string) string {
	if id[17] == '0' {
		return "1"
	}
	return "0"
}

func fixCheck(body17 string) string { return body17 + string(ivssimtest.CheckChar(body17)) }
