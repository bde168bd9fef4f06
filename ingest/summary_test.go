package ingest_test

import (
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

func TestSummaryAndToNewRecord(t *testing.T) {
	t.Parallel()
	manifest := "ref,shape,name,id_number,face_image\n" +
		"ok,name_face_image,张三," + id15 + "," + face + "\n" +
		"bad,name_face_image,张三," + badCheck + "," + face + "\n" +
		",name_face_image,张\uE000," + id18 + "," + face + "\n" +
		"x\"y,name\n" +
		"nul,name_face_image,张三\xff\x00," + id18 + "," + face + "\n"
	var sum ingest.Summary
	var recs []pipelineRecord
	for _, r := range parseAll(t, manifest, ingest.CSV) {
		sum.Add(r)
		rec := ingest.ToNewRecord(r)
		recs = append(recs, pipelineRecord{rec.Ref, rec.Line, rec.Status, rec.ErrorCode, rec.ErrorMessage, rec.IDNumber, rec.Name})
	}
	if sum.Rows != 5 || sum.Valid != 1 || sum.Rejected != 3 || sum.Review != 1 {
		t.Fatalf("summary %+v", sum)
	}
	wants := []pipelineRecord{
		{"ok", 2, pipeline.StatusPending, "", "", id18, name},
		{"bad", 3, pipeline.StatusRejected, identity.CodeIDCheck, "", badCheck, name},
		{"line-4", 4, pipeline.StatusReview, identity.CodeNamePrivateUse, "", id18, "张\uE000"},
		{"line-5", 5, pipeline.StatusRejected, ingest.CodeMalformed, "", "", ""},
		{"nul", 6, pipeline.StatusRejected, ingest.CodeEncoding, "", id18, "张三\uFFFD\uFFFD"},
	}
	for i, w := range wants {
		g := recs[i]
		if g.ref != w.ref || g.line != w.line || g.status != w.status || g.code != w.code || g.id != w.id || g.name != w.name {
			t.Errorf("record %d: %+v, want %+v", i, g, w)
		}
		if w.code == "" && g.msg != "" || w.code != "" && g.msg == "" {
			t.Errorf("record %d: message %q", i, g.msg)
		}
		if strings.Contains(g.msg, badCheck) || strings.Contains(g.msg, name) {
			t.Errorf("record %d: message repeats raw values: %q", i, g.msg)
		}
	}
	if !strings.HasPrefix(recs[1].msg, "id_number: ") {
		t.Errorf("message %q, want the field first", recs[1].msg)
	}
}

type pipelineRecord struct {
	ref    string
	line   int
	status pipeline.Status
	code   string
	msg    string
	id     string
	name   string
}

func TestRowErrorReview(t *testing.T) {
	t.Parallel()
	for code, review := range map[string]bool{
		identity.CodeNamePrivateUse: true, "review.anything": true,
		identity.CodeNameChars: false, ingest.CodeShape: false, "": false,
	} {
		if got := (&ingest.RowError{Code: code}).Review(); got != review {
			t.Errorf("Review(%q) = %t", code, got)
		}
	}
	rec := ingest.ToNewRecord(ingest.Row{Line: 9, Err: &ingest.RowError{Line: 9, Code: "review.x", Reason: "look"}})
	if rec.Ref != "line-9" || rec.Line != 9 || rec.Status != pipeline.StatusReview || rec.ErrorMessage != "look" {
		t.Errorf("got %+v", rec)
	}
}
