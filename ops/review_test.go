package ops

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// A decision's inputs are checked before anything changes: a reason, a
// known decision, a corrected name IVS accepts (not another private-use
// character) and with reverify only; refs not in review are reported.
func TestDecideChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: "r", ManifestSHA256: "r"})
	if err != nil {
		t.Fatal(err)
	}
	in := []store.NewRecord{
		{Input: pipeline.Input{Ref: "rare", Line: 2, Shape: pipeline.ShapeName, Name: "张\uE000", IDNumber: "11010119900307803X"},
			Status: pipeline.StatusReview, ErrorCode: "name.private_use", ErrorMessage: "name: private use"},
		{Input: pipeline.Input{Ref: "plain", Line: 3, Shape: pipeline.ShapeName, Name: "张伟", IDNumber: "11010119900307803X"}},
	}
	if _, err := st.InsertInputs(ctx, b.ID, in); err != nil {
		t.Fatal(err)
	}
	base := DecideOptions{Refs: []string{"rare"}, Decision: pipeline.DecideReverify, Reason: "r", Operator: "t"}
	for name, o := range map[string]func(*DecideOptions){
		"no reason":          func(o *DecideOptions) { o.Reason = " " },
		"unknown decision":   func(o *DecideOptions) { o.Decision = "maybe" },
		"private-use name":   func(o *DecideOptions) { o.CorrectedName = "张\uE001" },
		"name with approval": func(o *DecideOptions) { o.Decision, o.CorrectedName = pipeline.DecideApprove, "张伟" },
	} {
		opts := base
		o(&opts)
		if _, err := Decide(ctx, st, opts); err == nil {
			t.Errorf("%s: decided", name)
		}
	}
	if q, err := Review(ctx, st, store.ReviewFilter{}); err != nil || q.ByWhy["name.private_use"] != 1 || len(q.Cases) != 1 {
		t.Fatalf("the refused decisions changed the queue: %+v %v", q, err)
	}
	var out bytes.Buffer
	q, _ := Review(ctx, st, store.ReviewFilter{})
	PrintReview(&out, q)
	if strings.Contains(out.String(), "张伟") || !strings.Contains(out.String(), "张*") || !strings.Contains(out.String(), "private-use") {
		t.Errorf("review list:\n%s", out.String())
	}
	refs := filepath.Join(t.TempDir(), "refs")
	if err := os.WriteFile(refs, []byte("# refs\nrare\n\nplain\nnope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	list, err := ReadRefsFile(refs)
	if err != nil || len(list) != 3 {
		t.Fatalf("refs file: %q %v", list, err)
	}
	o := base
	o.Refs, o.CorrectedName = list, "张伟"
	rep, err := Decide(ctx, st, o)
	if err != nil || len(rep.Decided) != 1 || rep.Reverified != 1 || len(rep.NotFound) != 1 || len(rep.NotCase["plain"]) != 1 {
		t.Fatalf("decide from a file: %+v %v", rep, err)
	}
	out.Reset()
	PrintDecide(&out, o, rep)
	for _, want := range []string{"1 paid IVS call(s) queued", "ref nope: no such record", "ref plain: not in review (batch 1: pending)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("decide output lacks %q:\n%s", want, out.String())
		}
	}
	if err := os.WriteFile(refs, []byte("a\x1b[2Jb\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRefsFile(refs); err == nil {
		t.Error("a ref with an escape sequence was read")
	}
}
