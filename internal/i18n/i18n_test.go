package i18n_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/ivsbatch/ivsbatch/internal/i18n"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// moduleRoot is the repository's root, from this package's directory.
const moduleRoot = "../.."

// The IVS codes the service's digest documents: every verification code of
// its verdict table and every error code of its error table.
func documentedCodes(t *testing.T) (verdicts []int, codes []string) {
	t.Helper()
	path := filepath.Join(moduleRoot, "..", "shared", "ivs", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the IVS digest lists the codes to explain: %v", err)
	}
	for _, m := range regexp.MustCompile(`(?m)^\| (\d{4}) \|`).FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[1])
		verdicts = append(verdicts, n)
	}
	for _, m := range regexp.MustCompile(`(?m)^\| ((?:IVS|APIG)\.\d{4}) \|`).FindAllStringSubmatch(string(b), -1) {
		codes = append(codes, m[1])
	}
	if len(verdicts) < 6 || len(codes) < 20 {
		t.Fatalf("read %d verdicts and %d codes from %s: the tables' layout changed", len(verdicts), len(codes), path)
	}
	return verdicts, codes
}

// codeFamilies are the prefixes of ivsbatch's own dotted codes; a string
// literal of the form family.word in the module's code is a code to explain.
var codeFamily = regexp.MustCompile(`^(id|name|media|input|infra|budget|attempts|batch|client|request|review|ocr|video)\.[a-z_]+$`)

// fileNames are literals of a code's form that are file names, not codes.
var fileExt = regexp.MustCompile(`\.(csv|tsv|txt|json|jsonl|xlsx|jpg|jpeg|png|mp4|mov|webm|html|crt|key|pem)$`)

// definedCodes parses every non-test Go file of the module and returns the
// codes it defines: string constants named Code… or Error…, the first
// argument of rejection.New and rejection.Wrap (and of the packages' own
// reject and newError helpers), and any string literal of a code family's
// form (id.check, media.missing …).
func definedCodes(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != moduleRoot && (strings.HasPrefix(n, ".") || n == "testdata" || n == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.Contains(path, "internal/i18n") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		add := func(lit ast.Expr, why string) {
			bl, ok := lit.(*ast.BasicLit)
			if !ok || bl.Kind != token.STRING {
				return
			}
			s, err := strconv.Unquote(bl.Value)
			if err != nil || s == "" || strings.ContainsAny(s, " %") {
				return
			}
			out[s] = fset.Position(bl.Pos()).String() + " (" + why + ")"
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for i, name := range n.Names {
					if i < len(n.Values) && (strings.HasPrefix(name.Name, "Code") || strings.HasPrefix(name.Name, "Error")) {
						add(n.Values[i], "constant "+name.Name)
					}
				}
			case *ast.CallExpr:
				name := ""
				switch fn := n.Fun.(type) {
				case *ast.SelectorExpr:
					if x, ok := fn.X.(*ast.Ident); ok && x.Name == "rejection" {
						name = fn.Sel.Name
					}
				case *ast.Ident:
					name = fn.Name
				}
				if (name == "New" || name == "Wrap" || name == "reject" || name == "newError") && len(n.Args) > 0 {
					add(n.Args[0], "argument of "+name)
				}
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); n.Kind == token.STRING && err == nil &&
					codeFamily.MatchString(s) && !fileExt.MatchString(s) {
					add(n, "literal")
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	delete(out, "review.") // the prefix itself (ingest.ReviewPrefix)
	return out
}

// Every code documented by IVS and every code ivsbatch defines has an
// explanation of its own in every language.
func TestEveryCodeExplained(t *testing.T) {
	verdicts, documented := documentedCodes(t)
	for _, c := range verdicts {
		if !i18n.KnownVerdict(c) {
			t.Errorf("verification code %d (IVS digest) has no explanation", c)
		}
	}
	for _, c := range documented {
		if !i18n.Known(c) {
			t.Errorf("code %s (IVS digest) has no explanation", c)
		}
	}
	defined := definedCodes(t)
	for _, must := range []string{"id.check", "media.missing", "input.encoding", "infra.fetch", "budget.exhausted",
		"attempts.exhausted", "client.bad_body", "transport", "IVS.0014", "APIG.0308", "name.private_use"} {
		if defined[must] == "" {
			t.Fatalf("the scan of the module found no %s: it is broken (found %d codes)", must, len(defined))
		}
	}
	for c, where := range defined {
		if !i18n.Known(c) {
			t.Errorf("code %q defined at %s has no explanation in internal/i18n", c, where)
		}
	}
	// Codes not spelled as constants: an attempt closed by recovery, an
	// error of no known kind, an HTTP answer without a code, intake's review
	// reasons.
	for _, c := range []string{"abandoned", "unknown", "http.502", "review.anything", "APIGW.0308"} {
		if !i18n.Known(c) {
			t.Errorf("code %q has no explanation", c)
		}
	}
	for _, rule := range pipeline.VerdictRules() {
		if !i18n.KnownVerdict(rule.Code) {
			t.Errorf("verification code %d (pipeline's verdict rules) has no explanation", rule.Code)
		}
	}
}

// hasHan reports whether s holds a Chinese character: a Chinese text that is
// an untranslated copy of the English has none.
func hasHan(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) })
}

// Every entry of the catalogue is written in both languages.
func TestEveryEntryTranslated(t *testing.T) {
	check := func(what, en, zh string) {
		t.Helper()
		if en == "" || strings.ContainsFunc(en, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("%s: English %q", what, en)
		}
		if !hasHan(zh) || zh == en {
			t.Errorf("%s: Chinese %q is not Chinese", what, zh)
		}
	}
	for _, c := range i18n.Codes() {
		check("code "+c, i18n.English.Code(c), i18n.Chinese.Code(c))
	}
	for _, c := range i18n.Verdicts() {
		check("verdict "+strconv.Itoa(c), i18n.English.Verdict(c), i18n.Chinese.Verdict(c))
	}
	for _, k := range i18n.Labels() {
		check("label "+k, i18n.English.Label(k), i18n.Chinese.Label(k))
	}
	for _, s := range slices.Concat(pipeline.OpenStatuses, pipeline.TerminalStatuses, pipeline.StatusDisplayOrder) {
		if !slices.Contains(i18n.Statuses(), string(s)) {
			t.Errorf("status %s has no name", s)
		}
		check("status "+string(s), i18n.English.Status(string(s)), i18n.Chinese.Status(string(s)))
	}
	for _, s := range pipeline.Shapes {
		check("shape "+string(s), i18n.English.Shape(string(s)), i18n.Chinese.Shape(string(s)))
	}
	for _, r := range []string{"valid", "invalid", "nonexistent"} {
		check("result "+r, i18n.English.Result(r), i18n.Chinese.Result(r))
	}
	for _, rule := range pipeline.VerdictRules() {
		if i18n.English.Result(rule.Result) == rule.Result && rule.Result != "valid" && rule.Result != "invalid" && rule.Result != "nonexistent" {
			t.Errorf("result %s of verdict %d has no name", rule.Result, rule.Code)
		}
	}
	// fall-backs name what they do not know, in the language asked
	if got := i18n.Chinese.Code("zzz.new"); !hasHan(got) || !strings.Contains(got, "zzz.new") {
		t.Errorf("unknown code in Chinese: %q", got)
	}
	if got := i18n.Chinese.Code("http.503"); !strings.Contains(got, "503") || !hasHan(got) {
		t.Errorf("http.503 in Chinese: %q", got)
	}
	if got := i18n.Chinese.Verdict(4242); !strings.Contains(got, "4242") || !hasHan(got) {
		t.Errorf("unknown verdict in Chinese: %q", got)
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]i18n.Lang{
		"zh-CN": i18n.Chinese, "zh_CN.UTF-8": i18n.Chinese, "zh_CN.GB18030": i18n.Chinese, "zh": i18n.Chinese,
		"zh_TW.UTF-8": i18n.Chinese, "ZH-cn": i18n.Chinese, "en": i18n.English, "en_US.UTF-8": i18n.English,
		"C": i18n.English, "POSIX": i18n.English, "C.UTF-8": i18n.English, "en_GB@euro": i18n.English,
	} {
		if got, err := i18n.Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"fr_FR.UTF-8", "", "klingon"} {
		if _, err := i18n.Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, c := range []struct {
		env  func(string) string
		want i18n.Lang
	}{
		{env(), i18n.English},
		{env("LANG", "zh_CN.UTF-8"), i18n.Chinese},
		{env("LANG", "zh_CN.UTF-8", "LC_ALL", "C"), i18n.English},
		{env("LANG", "en_US.UTF-8", "LC_MESSAGES", "zh_CN.GBK"), i18n.Chinese},
		{env("LANG", "de_DE.UTF-8"), i18n.English},
	} {
		if got := i18n.FromEnv(c.env); got != c.want {
			t.Errorf("FromEnv = %q, want %q", got, c.want)
		}
	}
}
