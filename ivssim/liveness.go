package ivssim

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"sync"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// liveness compares the requested actions with those the video shows: the
// subject is alive when the requested actions appear in the shown ones in
// the same order. Each requested action gets a confidence: 0.8–0.99 when
// performed, 0.05–0.3 when not.
func liveness(requested, shown []int) ivs.VideoResult {
	vr := ivs.VideoResult{Alive: true, Picture: picture()}
	next := 0
	for i, a := range requested {
		done := false
		for next < len(shown) {
			next++
			if shown[next-1] == a {
				done = true
				break
			}
		}
		conf := 0.05 + float64((a*7+i*3)%25)/100
		if done {
			conf = 0.8 + float64((a*11+i*5)%19)/100
		} else {
			vr.Alive = false
		}
		vr.Actions = append(vr.Actions, pipeline.ActionResult{Action: a, Confidence: conf})
	}
	return vr
}

// picture is the base64 "largest face" returned with video results: a small
// grey JPEG, the same for everyone (the simulator keeps no personal media).
var picture = sync.OnceValue(func() string {
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = color.Gray{Y: uint8(96 + i%64)}.Y
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 70})
	return base64.StdEncoding.EncodeToString(b.Bytes())
})
