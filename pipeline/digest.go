package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// InputDigest is the keyed digest (idx: the personal-data index key) of
// everything that decides a verdict: the shape, the normalised name and id
// number, the content of every fetched media object (not its reference: a
// photo re-uploaded under the same key is new input), the actions, the nod
// threshold, detail and crop. Two records share a digest only when IVS
// would be asked exactly the same question. media holds the fetched bytes
// by field name (idcard_image1, idcard_image2, face_image, video).
func InputDigest(idx Indexer, rec *Record, media map[string][]byte) []byte {
	return idx.Index(digestParts(rec, media)...)
}

// InputDigests is InputDigest under every index key idx holds when it
// can say (IndexAll: during a rotation of the index key, the previous one
// too), the current key's first.
func InputDigests(idx Indexer, rec *Record, media map[string][]byte) [][]byte {
	parts := digestParts(rec, media)
	if all, ok := idx.(interface {
		IndexAll(parts ...string) [][]byte
	}); ok {
		return all.IndexAll(parts...)
	}
	return [][]byte{idx.Index(parts...)}
}

func digestParts(rec *Record, media map[string][]byte) []string {
	parts := []string{"ivsbatch/input/v1", string(rec.Shape), rec.Name, rec.IDNumber, rec.Actions,
		optFloat(rec.NodThreshold), optBool(rec.Detail), optBool(rec.Crop)}
	for _, f := range mediaFields {
		sum := ""
		if b, ok := media[f]; ok {
			h := sha256.Sum256(b)
			sum = hex.EncodeToString(h[:])
		}
		parts = append(parts, f+"="+sum)
	}
	return parts
}

var mediaFields = []string{"idcard_image1", "idcard_image2", "face_image", "video"}

func optFloat(f *float64) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatFloat(*f, 'g', -1, 64)
}

func optBool(b *bool) string {
	if b == nil {
		return "-"
	}
	return strconv.FormatBool(*b)
}
