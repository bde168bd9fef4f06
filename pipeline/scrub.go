package pipeline

import (
	"path"
	"strings"

	"github.com/ivsbatch/ivsbatch/internal/sink"
)

// Scrub returns msg without the record's personal data: its name, id number
// and media references — whole, and the object key, file name and stem they
// carry (media are often named after the person) — are replaced by the
// field's name in angle brackets ("<id_number>", "<face_image>"), in every
// spelling a library may use (sink.Redact). The processor scrubs every
// message it stores with it, whatever produced the message; ops export
// scrubs what was stored before.
func (r *Record) Scrub(msg string) string {
	if msg == "" {
		return ""
	}
	secrets := []sink.Secret{{Value: r.Name, Mask: "<name>"}, {Value: r.IDNumber, Mask: "<id_number>"}}
	for _, m := range []struct{ ref, field string }{
		{r.IDCard1, "idcard_image1"}, {r.IDCard2, "idcard_image2"}, {r.FaceImage, "face_image"}, {r.Video, "video"},
	} {
		for _, part := range refParts(m.ref) {
			secrets = append(secrets, sink.Secret{Value: part, Mask: "<" + m.field + ">"})
		}
	}
	return sink.Redact(msg, secrets...)
}

// refParts are the pieces of a media reference a message may repeat: the
// whole of it, the part after the scheme, the key or path, the file name
// and its stem (when six bytes or more: shorter stems, "face" or "card",
// are words of ordinary messages).
func refParts(ref string) []string {
	if ref == "" {
		return nil
	}
	parts := []string{ref}
	_, rest, ok := strings.Cut(ref, "://")
	if ok {
		parts = append(parts, rest)
		if _, key, ok := strings.Cut(strings.TrimPrefix(rest, "/"), "/"); ok {
			parts = append(parts, key)
		}
	}
	base := path.Base(ref)
	parts = append(parts, base)
	if stem := strings.TrimSuffix(base, path.Ext(base)); len(stem) >= 6 {
		parts = append(parts, stem)
	}
	return parts
}
