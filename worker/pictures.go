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

// PictureBucket keeps liveness pictures, sealed (AES-256-GCM under the
// personal-data key, the record id bound), under an object-store prefix
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
	Seal   ObjectSealer     // encrypts each picture before it leaves the worker (*pii.Keyring)
}

// ObjectSealer encrypts an object bound to its record (pii.Keyring.SealBytes).
type ObjectSealer interface {
	SealBytes(data []byte, recordID int64) ([]byte, error)
}

// PictureSuffix ends a kept picture's name: a JPEG sealed with the
// personal-data key of the record (pii.Keyring.OpenBytes opens it).
const PictureSuffix = ".jpg.sealed"

// SavePicture implements pipeline.PictureStore.
func (b PictureBucket) SavePicture(ctx context.Context, ref pipeline.TaskRef, jpeg []byte) (string, error) {
	name, err := b.name(ref)
	if err != nil {
		return "", err
	}
	if b.Seal == nil {
		return "", errors.New("keep liveness picture: no key to seal it (the personal-data keys)")
	}
	sealed, err := b.Seal.SealBytes(jpeg, ref.RecordID)
	if err != nil {
		return "", fmt.Errorf("keep liveness picture: %w", err)
	}
	dst := strings.TrimRight(b.Prefix, "/") + "/" + name + PictureSuffix
	if err := b.Store.PutPrivate(ctx, dst, sealed, "application/octet-stream"); err != nil {
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

// DeletePicture implements ops.PictureDeleter: it deletes a kept picture,
// only one under the prefix (a reference read from the database is never
// trusted to name anything else).
func (b PictureBucket) DeletePicture(ctx context.Context, ref string) error {
	prefix := strings.TrimRight(b.Prefix, "/") + "/"
	if !strings.HasPrefix(ref, prefix) || strings.Contains(ref[len(prefix):], "/") {
		return fmt.Errorf("delete kept picture %s: not under %s", objstore.MaskRef(ref), objstore.MaskRef(b.Prefix))
	}
	return b.Store.Delete(ctx, ref)
}
