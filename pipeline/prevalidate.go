package pipeline

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Prevalidator does what the processor does before a call: fetch a
// record's media, prepare it and check the call IVS would get. It never
// calls IVS and stores nothing. `ops prevalidate` uses it alone; every
// Processor uses one for its records.
type Prevalidator struct {
	fetcher      Fetcher
	preparer     Preparer
	fetchLimit   int64
	mediaTimeout time.Duration
}

// NewPrevalidator returns a Prevalidator over f and pr with the default
// fetch limit and media timeout.
func NewPrevalidator(f Fetcher, pr Preparer) *Prevalidator {
	return newPrevalidator(Config{Fetcher: f, Preparer: pr}.WithDefaults())
}

// newPrevalidator is the Prevalidator of a defaulted Config.
func newPrevalidator(c Config) *Prevalidator {
	return &Prevalidator{fetcher: c.Fetcher, preparer: c.Preparer, fetchLimit: c.FetchLimit, mediaTimeout: c.MediaTimeout}
}

// Prevalidate fetches and prepares rec's media and checks the call IVS
// would get. Input problems come back as a Rejection; other errors are
// storage or tooling trouble. note says what was done to the media.
func (v *Prevalidator) Prevalidate(ctx context.Context, rec *Record) (note string, err error) {
	media, err := v.fetch(ctx, rec)
	if err != nil {
		return "", err
	}
	_, note, err = v.prepare(ctx, rec, media)
	return note, err
}

// mediaRef is one media field of a record.
type mediaRef struct {
	ref, name string
	kind      MediaKind
	dst       func(*Call) *string
}

func mediaOf(rec *Record) []mediaRef {
	all := []mediaRef{
		{rec.IDCard1, "idcard_image1", MediaIDCardImage, func(c *Call) *string { return &c.IDCard1 }},
		{rec.IDCard2, "idcard_image2", MediaIDCardImage, func(c *Call) *string { return &c.IDCard2 }},
		{rec.FaceImage, "face_image", MediaFaceImage, func(c *Call) *string { return &c.FaceImage }},
		{rec.Video, "video", MediaVideo, func(c *Call) *string { return &c.Video }},
	}
	var out []mediaRef
	for _, m := range all {
		if m.ref != "" {
			out = append(out, m)
		}
	}
	return out
}

// fetch reads every media object of rec under the media timeout, by field
// name. Input problems come back as a Rejection.
func (v *Prevalidator) fetch(ctx context.Context, rec *Record) (map[string][]byte, error) {
	fctx, cancel := context.WithTimeout(ctx, v.mediaTimeout)
	defer cancel()
	out := map[string][]byte{}
	for _, m := range mediaOf(rec) {
		data, err := v.fetcher.Fetch(fctx, m.ref, v.fetchLimit)
		if err != nil {
			return nil, fieldError(m.name, err)
		}
		out[m.name] = data
	}
	return out, nil
}

// prepare makes the fetched media ready for IVS under the media timeout and
// assembles the call. Input problems come back as a Rejection.
func (v *Prevalidator) prepare(ctx context.Context, rec *Record, media map[string][]byte) (Call, string, error) {
	pctx, cancel := context.WithTimeout(ctx, v.mediaTimeout)
	defer cancel()
	c := Call{Shape: rec.Shape, UUID: rec.Task().UUID(), NodThreshold: rec.NodThreshold, Detail: rec.Detail, Crop: rec.Crop}
	if rec.Shape.UsesText() {
		c.Name, c.IDNumber = rec.Name, rec.IDNumber
	}
	if rec.Shape.UsesVideo() {
		c.Actions = rec.Actions
	}
	var notes []string
	for _, m := range mediaOf(rec) {
		prep, err := v.preparer.Prepare(pctx, m.kind, media[m.name])
		if err != nil {
			return Call{}, "", fieldError(m.name, err)
		}
		*m.dst(&c) = base64.StdEncoding.EncodeToString(prep.Data)
		notes = append(notes, m.name+": "+prep.Note)
	}
	if err := c.Check(); err != nil {
		return c, "", err // a *RequestError is a Rejection
	}
	return c, strings.Join(notes, "; "), nil
}

// fieldError prefixes a rejection's message with the field, keeping its code.
func fieldError(field string, err error) error {
	if rej, ok := errors.AsType[Rejection](err); ok {
		return &fieldRejection{field: field, Rejection: rej}
	}
	return fmt.Errorf("%s: %w", field, err)
}

type fieldRejection struct {
	field string
	Rejection
}

func (f *fieldRejection) Error() string { return f.field + ": " + f.Rejection.Error() }
func (f *fieldRejection) Unwrap() error { return f.Rejection }
