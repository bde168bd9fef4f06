package sink_test

import (
	"testing"

	"github.com/ivsbatch/ivsbatch/internal/sink"
)

func TestTerminal(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"张三 ref-001", "张三 ref-001"},
		{"\x1b]0;pwned\x07title", `\x1b]0;pwned\x07title`},
		{"a\x1b[2Jb", `a\x1b[2Jb`},
		{"csi\u009b31m", `csi\u009b31m`},
		{"gpj.\u202eexe", `gpj.\u202eexe`},
		{"isolate\u2066x\u2069", `isolate\u2066x\u2069`},
		{"tab\tnl\n", `tab\x09nl\x0a`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"del\x7f", `del\x7f`},
	} {
		if got := sink.Terminal(tc.in); got != tc.want {
			t.Errorf("Terminal(%q) = %q, want %q", tc.in, got, tc.want)
		}
		_, bad := sink.FirstControl(tc.in)
		if bad != (tc.in != tc.want) {
			t.Errorf("FirstControl(%q) = %v, want %v", tc.in, bad, tc.in != tc.want)
		}
	}
}

func TestSpreadsheetCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ref-001", "ref-001"},
		{"", ""},
		{`=HYPERLINK("http://x","y")`, `'=HYPERLINK("http://x","y")`},
		{`=cmd|' /C calc'!A0`, `'=cmd|' /C calc'!A0`},
		{"@SUM(A1:A2)", "'@SUM(A1:A2)"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"＝1+1", "'＝1+1"},
		{"＠SUM(1)", "'＠SUM(1)"},
		{"a=1", "a=1"},
	} {
		if got := sink.SpreadsheetCell(tc.in); got != tc.want {
			t.Errorf("SpreadsheetCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRedact(t *testing.T) {
	key := "people/王芳/p0032-face-broken.jpg"
	sdk := `operation error S3: GetObject, Get "http://127.0.0.1:7070/media/people/%E7%8E%8B%E8%8A%B3/p0032-face-broken.jpg?x-id=GetObject": dial tcp: connection refused`
	for _, tc := range []struct {
		msg     string
		secrets []sink.Secret
		want    string
	}{
		{sdk, []sink.Secret{{key, "<face_image>"}}, `operation error S3: GetObject, Get "http://127.0.0.1:7070/media/<face_image>?x-id=GetObject": dial tcp: connection refused`},
		{"open /data/王芳.jpg: permission denied", []sink.Secret{{"王芳", "<name>"}}, "open /data/<name>.jpg: permission denied"},
		{`name "\u738b\u82b3" refused`, []sink.Secret{{"王芳", "<name>"}}, `name "<name>" refused`},
		{"id 110101199003077777 twice", []sink.Secret{{"110101199003077777", "11**************77"}}, "id 11**************77 twice"},
		{"query ?k=a+b%2Fc.jpg", []sink.Secret{{"a b/c.jpg", "<k>"}}, "query ?k=<k>"},
		{"the word face stays", []sink.Secret{{"fac", "<x>"}}, "the word face stays"}, // too short to look for
	} {
		if got := sink.Redact(tc.msg, tc.secrets...); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.msg, got, tc.want)
		}
		if !sink.Mentions(tc.msg, tc.secrets[0].Value) != (tc.msg == tc.want) {
			t.Errorf("Mentions(%q, %q) disagrees with Redact", tc.msg, tc.secrets[0].Value)
		}
	}
}
