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
