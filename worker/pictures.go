package worker

import (
	"context"
	"fmt"
	"strings"

	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// PictureBucket keeps liveness pictures under an object-store prefix
// (IVSBATCH_KEEP_PICTURES, e.g. s3://kyc-pictures/liveness): one JPEG per
// record generation, named by the record, never by the person.
type PictureBucket struct {
	Store  *objstore.Store
	Prefix string // s3://bucket/prefix or file:///dir
}

// SavePicture implements pipeline.PictureStore.
func (b PictureBucket) SavePicture(ctx context.Context, ref pipeline.TaskRef, jpeg []byte) (string, error) {
	dst := strings.TrimRight(b.Prefix, "/") + "/" + ref.UUID() + ".jpg"
	if err := b.Store.Put(ctx, dst, jpeg, "image/jpeg"); err != nil {
		return "", fmt.Errorf("keep liveness picture: %w", err)
	}
	return dst, nil
}
