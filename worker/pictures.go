package worker

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// PictureBucket keeps liveness pictures under an object-store prefix
// (IVSBATCH_KEEP_PICTURES, e.g. s3://kyc-pictures/liveness): one JPEG per
// record generation, named neither by the person nor by the record but by
// a keyed hash of the record id and generation (Names: HMAC-SHA256 under
// the personal-data index key, 128 bits in hex). Nobody without the key can
// guess a picture's name, and a retried save replaces the same object. The
// record stores the reference; the prefix must be among the media store's
// DenyPrefixes so that a kept face is never read back as media.
type PictureBucket struct {
	Store  *objstore.Store
	Prefix string           // s3://bucket/prefix or file:///dir
	Names  pipeline.Indexer // keys the pictures' names (*pii.Keyring)
}

// SavePicture implements pipeline.PictureStore.
func (b PictureBucket) SavePicture(ctx context.Context, ref pipeline.TaskRef, jpeg []byte) (string, error) {
	name, err := b.name(ref)
	if err != nil {
		return "", err
	}
	dst := strings.TrimRight(b.Prefix, "/") + "/" + name + ".jpg"
	if err := b.Store.Put(ctx, dst, jpeg, "image/jpeg"); err != nil {
		return "", fmt.Errorf("keep liveness picture: %w", err)
	}
	return dst, nil
}

// name is the picture's unguessable name for the record generation ref.
func (b PictureBucket) name(ref pipeline.TaskRef) (string, error) {
	if b.Names == nil {
		return "", errors.New("keep liveness picture: no key to name it (the personal-data index key)")
	}
	mac := b.Names.Index("liveness-picture", strconv.FormatInt(ref.RecordID, 10), strconv.Itoa(ref.Generation))
	if len(mac) < 16 {
		return "", errors.New("keep liveness picture: the naming key gave a short digest")
	}
	return hex.EncodeToString(mac[:16]), nil
}
