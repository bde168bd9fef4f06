package ingest

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Validate checks one raw row fully under DefaultLimits; see Limits.Validate.
func Validate(fl Fields) Row { return DefaultLimits.Validate(fl) }

// Validate checks one raw row fully: no value over the limits (cells, the
// customer's columns), shape known (or inferred) with its required fields
// and no foreign ones, id number and name normalised by identity, media
// references well-formed, actions, nod_threshold, detail and crop
// well-formed. Duplicate refs are Parse's concern. A row over a limit keeps
// only its line and ref.
func (l Limits) Validate(fl Fields) Row {
	l = l.withDefaults()
	get := func(k string) string { return excelText(strings.TrimSpace(fl.Values[k])) }
	in := pipeline.Input{Line: fl.Line, Ref: get("ref"), Shape: pipeline.Shape(strings.ToLower(get("shape"))),
		Name: get("name"), IDNumber: get("id_number"), IDCard1: get("idcard_image1"), IDCard2: get("idcard_image2"),
		FaceImage: get("face_image"), Video: get("video"), Actions: get("actions")}
	size := l.oversized(fl)
	if size == nil {
		in.Metadata = metadata(fl.Extra)
		if len(in.Metadata) > l.MetadataBytes {
			size = &RowError{Code: CodeTooLarge, Reason: fmt.Sprintf("the customer's columns take %d bytes stored as JSON, at most %d",
				len(in.Metadata), l.MetadataBytes)}
		}
	}
	if size != nil {
		// Nothing of an oversized row is kept but where it was and its ref.
		in = pipeline.Input{Line: fl.Line, Ref: in.Ref}
	}
	var refErr *RowError
	if !validRef(in.Ref, l.RefBytes) {
		// A ref that cannot be a key is replaced, so the row can still be stored.
		in.Ref, refErr = "", &RowError{Field: "ref", Code: CodeRef,
			Reason: fmt.Sprintf("longer than %d bytes, or not UTF-8 text without control characters", l.RefBytes)}
	}
	if in.Ref == "" {
		in.Ref = defaultRef(fl.Line)
	}
	row := Row{Line: fl.Line, Input: in}
	err := size
	if err == nil {
		err = validate(&row, fl, get)
	}
	if err == nil || fl.Err == nil && size == nil && refErr != nil {
		err = refErr
	}
	if err != nil {
		err.Line = fl.Line
		row.Err = err
	}
	return row
}

func defaultRef(line int) string { return "line-" + strconv.Itoa(line) }

// oversized returns the row's input.too_large error: the reader's (a row,
// a line or an element too long, too many keys) or a cell over CellBytes.
func (l Limits) oversized(fl Fields) *RowError {
	if se, ok := errors.AsType[*SizeError](fl.Err); ok {
		return &RowError{Field: se.Field, Code: CodeTooLarge, Reason: se.Reason}
	}
	if fl.Err != nil {
		return nil
	}
	for _, c := range Columns {
		if v := fl.Values[c]; len(v) > l.CellBytes {
			return &RowError{Field: c, Code: CodeTooLarge, Reason: fmt.Sprintf("%d bytes, at most %d", len(v), l.CellBytes)}
		}
	}
	first, found := "", false // the first oversized column by name: the message does not depend on map order
	for k, v := range fl.Extra {
		if len(v) > l.CellBytes && (!found || k < first) {
			first, found = k, true
		}
	}
	if found {
		return &RowError{Field: sink.Terminal(first), Code: CodeTooLarge,
			Reason: fmt.Sprintf("%d bytes, at most %d", len(fl.Extra[first]), l.CellBytes)}
	}
	return nil
}

// validate normalises row.Input in place and returns the first fault.
func validate(row *Row, fl Fields, get func(string) string) *RowError {
	in := &row.Input
	if fl.Err != nil {
		return &RowError{Code: CodeMalformed, Reason: sink.Terminal(fl.Err.Error())}
	}
	if f := undecoded(fl); f != "" {
		return &RowError{Field: f, Code: CodeEncoding, Reason: "holds bytes that are not text in the manifest's encoding " +
			"(U+FFFD after decoding): save the file as UTF-8, or pass submit -encoding (gbk, utf-16le …)"}
	}
	if in.Shape == "" {
		s, err := inferShape(*in)
		if err != nil {
			return err
		}
		in.Shape = s
	}
	s := in.Shape
	if !s.Valid() {
		return &RowError{Field: "shape", Code: CodeShape, Reason: fmt.Sprintf("unknown shape %s (one of %s)", quote(truncate(string(s), 40)), shapeList())}
	}
	if f, reason := s.CheckFields(func(f pipeline.ShapeField) bool { return field(*in, f.Manifest, get) != "" }); reason != "" {
		return &RowError{Field: f.Manifest, Code: CodeShape, Reason: reason}
	}
	if s.UsesText() {
		raw, rerr := excelID(in.IDNumber)
		if rerr != nil {
			return rerr
		}
		id, err := identity.NormalizeIDNumber(raw)
		if err != nil {
			return identityError("id_number", err)
		}
		name, err := identity.NormalizeName(in.Name)
		if err != nil {
			return identityError("name", err)
		}
		in.IDNumber, in.Name = id, name
	}
	for _, m := range []struct{ field, ref string }{
		{"idcard_image1", in.IDCard1}, {"idcard_image2", in.IDCard2}, {"face_image", in.FaceImage}, {"video", in.Video},
	} {
		if m.ref == "" {
			continue
		}
		if _, _, _, err := objstore.ParseRef(m.ref); err != nil || !utf8.ValidString(m.ref) {
			// The reference itself is not repeated: paths may carry names.
			return &RowError{Field: m.field, Code: CodeMediaRef, Reason: "not s3://bucket/key or file:///absolute/path"}
		}
	}
	if s.UsesVideo() {
		if err := normaliseVideo(in, get("nod_threshold")); err != nil {
			return err
		}
	}
	var err *RowError
	if in.Detail, err = parseBool("detail", get("detail")); err != nil {
		return err
	}
	if in.Crop, err = parseBool("crop", get("crop")); err != nil {
		return err
	}
	return nil
}

// field is the value of manifest column col of a row being validated: in's
// when in holds it, the raw value otherwise. (A switch: a map built per row
// was a tenth of the parsing time of a million-row manifest.)
func field(in pipeline.Input, col string, get func(string) string) string {
	switch col {
	case "name":
		return in.Name
	case "id_number":
		return in.IDNumber
	case "idcard_image1":
		return in.IDCard1
	case "idcard_image2":
		return in.IDCard2
	case "face_image":
		return in.FaceImage
	case "video":
		return in.Video
	case "actions":
		return in.Actions
	}
	return get(col)
}

func normaliseVideo(in *pipeline.Input, nod string) *RowError {
	acts, err := pipeline.ParseActions(in.Actions)
	if err != nil {
		reason := err.Error()
		if re, ok := errors.AsType[*pipeline.RequestError](err); ok {
			reason = re.Reason
		}
		return &RowError{Field: "actions", Code: CodeActions, Reason: reason}
	}
	parts := make([]string, len(acts))
	for i, a := range acts {
		parts[i] = strconv.Itoa(a)
	}
	in.Actions = strings.Join(parts, ",")
	if nod != "" {
		f, err := strconv.ParseFloat(nod, 64)
		if err != nil || math.IsNaN(f) || f < 1 || f > 90 {
			return &RowError{Field: "nod_threshold", Code: CodeNodThreshold,
				Reason: fmt.Sprintf("%s is not a number of degrees in 1–90", quote(truncate(nod, 20)))}
		}
		in.NodThreshold = &f
	}
	return nil
}

// identityError keeps identity's code and message (which masks the value).
func identityError(field string, err error) *RowError {
	code, reason := identity.ErrorCode(err), err.Error()
	if e, ok := errors.AsType[*identity.Error](err); ok {
		reason = e.Message
	}
	if code == "" {
		code = "input." + field
	}
	return &RowError{Field: field, Code: code, Reason: reason}
}

func parseBool(field, s string) (*bool, *RowError) {
	var b bool
	switch strings.ToLower(s) {
	case "":
		return nil, nil
	case "true", "1":
		b = true
	case "false", "0":
		b = false
	default:
		return nil, &RowError{Field: field, Code: CodeBool, Reason: fmt.Sprintf("%s is not true, false, 1 or 0", quote(truncate(s, 20)))}
	}
	return &b, nil
}

// inferShape picks the shape from which fields are present.
func inferShape(in pipeline.Input) (pipeline.Shape, *RowError) {
	text, card := in.Name != "" || in.IDNumber != "", in.IDCard1 != "" || in.IDCard2 != ""
	face, video := in.FaceImage != "", in.Video != "" || in.Actions != ""
	switch {
	case text && card:
		return "", &RowError{Field: "shape", Code: CodeShape, Reason: "empty, and both name/id_number and idcard images are set: say which shape"}
	case face && video:
		return "", &RowError{Field: "shape", Code: CodeShape, Reason: "empty, and both face_image and video are set: say which shape"}
	case !text && !card:
		return "", &RowError{Field: "shape", Code: CodeShape, Reason: "empty, and neither name/id_number nor idcard images are set"}
	}
	switch {
	case text && face:
		return pipeline.ShapeNameFaceImage, nil
	case text && video:
		return pipeline.ShapeNameVideo, nil
	case text:
		return pipeline.ShapeName, nil
	case face:
		return pipeline.ShapeCardFaceImage, nil
	case video:
		return pipeline.ShapeCardVideo, nil
	}
	return pipeline.ShapeCard, nil
}

func shapeList() string {
	s := make([]string, len(pipeline.Shapes))
	for i, sh := range pipeline.Shapes {
		s[i] = string(sh)
	}
	return strings.Join(s, ", ")
}

// validRef reports whether ref can be a record's key: at most max bytes of
// UTF-8 text without control characters (sink.Control: C0, C1,
// bidirectional formatting), which would reach terminals and exports.
func validRef(ref string, max int) bool {
	_, bad := sink.FirstControl(ref)
	return len(ref) <= max && !bad
}
