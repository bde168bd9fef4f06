package worker

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig for JPEG

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// BasicPreparer checks type and size only and never changes the media: a
// JPEG whose sides are 300–4000 px and whose base64 is 10 KB – 4 MB, a video
// whose base64 is 10 KB – 10 MB. It is the fallback when the media package
// (which converts and compresses) is not used.
type BasicPreparer struct{}

// Prepare implements pipeline.Preparer.
func (BasicPreparer) Prepare(_ context.Context, kind pipeline.MediaKind, data []byte) (pipeline.Prepared, error) {
	b64 := base64.StdEncoding.EncodedLen(len(data))
	if kind == pipeline.MediaVideo {
		if b64 < 10<<10 || b64 > 10<<20 {
			return pipeline.Prepared{}, &mediaRejection{code: "media.video_size",
				err: fmt.Errorf("video base64 is %d bytes, IVS accepts 10 KB – 10 MB", b64)}
		}
		return pipeline.Prepared{Data: data, Note: "passed through (size checked)"}, nil
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || format != "jpeg" {
		return pipeline.Prepared{}, &mediaRejection{code: "media.not_jpeg", err: fmt.Errorf("not a JPEG image")}
	}
	if min(cfg.Width, cfg.Height) < 300 || max(cfg.Width, cfg.Height) > 4000 {
		return pipeline.Prepared{}, &mediaRejection{code: "media.image_size",
			err: fmt.Errorf("image is %d×%d, IVS accepts 300–4000 px a side", cfg.Width, cfg.Height)}
	}
	if b64 < 10<<10 || b64 > 4<<20 {
		return pipeline.Prepared{}, &mediaRejection{code: "media.image_bytes",
			err: fmt.Errorf("image base64 is %d bytes, IVS accepts 10 KB – 4 MB", b64)}
	}
	return pipeline.Prepared{Data: data, Note: "passed through (type and size checked)"}, nil
}
