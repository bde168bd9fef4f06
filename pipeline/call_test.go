package pipeline_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// A call is checked against the shape table before any slot is reserved:
// the error names the field, never its value, and is a rejection.
func TestCallCheck(t *testing.T) {
	t.Parallel()
	nod := func(f float64) *float64 { return &f }
	good := pipeline.Call{Shape: pipeline.ShapeNameVideo, UUID: "rec-1-g1", Name: "张伟", IDNumber: "11010119900307803X",
		Video: "dmlkZW8=", Actions: "1,3", NodThreshold: nod(10)}
	for _, tt := range []struct {
		name  string
		edit  func(*pipeline.Call)
		field string // "" when the call is good
	}{
		{name: "good", edit: func(*pipeline.Call) {}},
		{name: "unknown shape", edit: func(c *pipeline.Call) { c.Shape = "selfie" }, field: "shape"},
		{name: "no uuid", edit: func(c *pipeline.Call) { c.UUID = "" }, field: "meta.uuid"},
		{name: "long uuid", edit: func(c *pipeline.Call) { c.UUID = strings.Repeat("u", 65) }, field: "meta.uuid"},
		{name: "missing name", edit: func(c *pipeline.Call) { c.Name = "" }, field: "verification_name"},
		{name: "foreign field", edit: func(c *pipeline.Call) { c.FaceImage = "ZmFjZQ==" }, field: "face_image"},
		{name: "repeated action", edit: func(c *pipeline.Call) { c.Actions = "1,1" }, field: "actions"},
		{name: "unknown action", edit: func(c *pipeline.Call) { c.Actions = "1,9" }, field: "actions"},
		{name: "nod out of range", edit: func(c *pipeline.Call) { c.NodThreshold = nod(91) }, field: "nod_threshold"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := good
			tt.edit(&c)
			err := c.Check()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("good call refused: %v", err)
				}
				return
			}
			re, ok := errors.AsType[*pipeline.RequestError](err)
			if !ok || re.Field != tt.field || re.RejectCode() != pipeline.CodeRequestInvalid {
				t.Fatalf("%v; want a RequestError on %s", err, tt.field)
			}
			if strings.Contains(err.Error(), "张伟") || strings.Contains(err.Error(), "11010119900307803X") {
				t.Errorf("the message repeats personal data: %v", err)
			}
			if _, ok := errors.AsType[pipeline.Rejection](err); !ok {
				t.Error("not a Rejection")
			}
		})
	}
}

// ClassOf reads a Verifier's answer: nil is a verdict, a wrapped CallError
// its own class, anything else unknown.
func TestClassOf(t *testing.T) {
	t.Parallel()
	ce := &pipeline.CallError{Class: pipeline.ClassThrottled, Code: "APIG.0308", Err: errors.New("429")}
	for err, want := range map[error]pipeline.Class{
		nil:                          pipeline.ClassVerdict,
		ce:                           pipeline.ClassThrottled,
		fmt.Errorf("gate: %w", ce):   pipeline.ClassThrottled,
		errors.New("something else"): pipeline.ClassUnknown,
	} {
		if got := pipeline.ClassOf(err); got != want {
			t.Errorf("%v: %s, want %s", err, got, want)
		}
	}
	if u := pipeline.CallErrorOf(errors.New("x")); u.Code != "unknown" || u.Message != "x" {
		t.Errorf("a foreign error: %+v", u)
	}
	for c := pipeline.ClassUnknown; c <= pipeline.ClassAmbiguous; c++ {
		if back, ok := pipeline.ParseClass(c.String()); !ok || back != c {
			t.Errorf("class %d: %q parses back as %d", c, c.String(), back)
		}
	}
}
