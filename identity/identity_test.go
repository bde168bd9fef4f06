package identity_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ivsbatch/ivsbatch/identity"
)

var today = func() time.Time { return time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC) }

func TestNormalizeIDNumber(t *testing.T) {
	t.Parallel()
	v := identity.Validator{Now: today}
	tests := []struct {
		name, in, want, code string
	}{
		{"18 valid with X", "11010519491231002X", "11010519491231002X", ""},
		{"18 valid digit check", "440106199001011235", "440106199001011235", ""},
		{"lower-case x", "11010519491231002x", "11010519491231002X", ""},
		{"full-width digits and X", "１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X", ""},
		{"full-width lower x", "１１０１０５１９４９１２３１００２ｘ", "11010519491231002X", ""},
		{"ideographic and ascii spaces", "\u3000 11010519491231002X\t\u3000", "11010519491231002X", ""},
		{"bom", "\uFEFF11010519491231002X", "11010519491231002X", ""},
		{"15 converted", "110105491231002", "11010519491231002X", ""},
		{"15 converted digit check", "440106900101123", "440106199001011235", ""},
		{"born today", "440106202406151230", "440106202406151230", ""},
		{"empty", "", "", identity.CodeIDLength},
		{"17 chars", "11010519491231002", "", identity.CodeIDLength},
		{"19 chars", "11010519491231002X1", "", identity.CodeIDLength},
		{"inner space", "110105 9491231002X", "", identity.CodeIDChars},
		{"letter in body", "1101051949123A002X", "", identity.CodeIDChars},
		{"X not last", "X10105194912310021", "", identity.CodeIDChars},
		{"X in 15", "11010549123100X", "", identity.CodeIDChars},
		{"wrong check", "110105194912310021", "", identity.CodeIDCheck},
		{"province 00", "000105194912310025", "", identity.CodeIDRegion},
		{"province 99", "990105194912310025", "", identity.CodeIDRegion},
		{"province 24", "240105194912310025", "", identity.CodeIDRegion},
		{"15 bad province", "190105491231002", "", identity.CodeIDRegion},
		{"feb 30", "110105194902300025", "", identity.CodeIDDate},
		{"month 13", "110105194913010025", "", identity.CodeIDDate},
		{"feb 29 non-leap", "110105190002290025", "", identity.CodeIDDate},
		{"before 1900", "440524188001010014", "", identity.CodeIDDate},
		{"15 bad date", "110105490230002", "", identity.CodeIDDate},
		{"tomorrow", "440106202406161230", "", identity.CodeIDFuture},
		{"far future", "440106209901011230", "", identity.CodeIDFuture},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := v.NormalizeIDNumber(tt.in)
			if code := identity.ErrorCode(err); code != tt.code {
				t.Fatalf("code = %q (%v), want %q", code, err, tt.code)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if err != nil && len(tt.in) >= 15 && strings.Contains(err.Error(), strings.TrimSpace(tt.in)[:12]) {
				t.Errorf("error %q echoes the number", err)
			}
		})
	}
}

func TestNormalizeIDNumberLeapDay(t *testing.T) {
	t.Parallel()
	v := identity.Validator{Now: today}
	id := "11010520000229" + "123"
	c, err := identity.CheckChar(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.NormalizeIDNumber(id + string(c)); err != nil {
		t.Errorf("2000-02-29: %v", err)
	}
}

func TestNormalizeIDNumberTodayInChina(t *testing.T) {
	t.Parallel()
	// 2024-06-15 20:00 UTC is already 2024-06-16 in China.
	v := identity.Validator{Now: func() time.Time { return time.Date(2024, 6, 15, 20, 0, 0, 0, time.UTC) }}
	first := "44010620240616123"
	c, _ := identity.CheckChar(first)
	if _, err := v.NormalizeIDNumber(first + string(c)); err != nil {
		t.Errorf("born on the Chinese today: %v", err)
	}
}

func TestCheckChar(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want byte
		code string
	}{
		{"11010519491231002", 'X', ""},
		{"44010619900101123", '5', ""},
		{"1101051949123100", 0, identity.CodeIDLength},
		{"1101051949123100A", 0, identity.CodeIDChars},
	}
	for _, tt := range tests {
		got, err := identity.CheckChar(tt.in)
		if identity.ErrorCode(err) != tt.code || got != tt.want {
			t.Errorf("CheckChar(%q) = %q, %v; want %q, code %q", tt.in, got, err, tt.want, tt.code)
		}
	}
}

func TestErrorRejectCode(t *testing.T) {
	t.Parallel()
	_, err := identity.NormalizeIDNumber("123")
	rej, ok := err.(interface{ RejectCode() string })
	if !ok || rej.RejectCode() != identity.CodeIDLength {
		t.Fatalf("err %v does not carry RejectCode id.length", err)
	}
}

func TestNormalizeName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, code string
	}{
		{"plain", "张三", "张三", ""},
		{"trim spaces", "\u3000 张三 \t", "张三", ""},
		{"minority U+00B7", "买买提·艾力", "买买提·艾力", ""},
		{"full stop", "买买提.艾力", "买买提·艾力", ""},
		{"full-width full stop", "买买提．艾力", "买买提·艾力", ""},
		{"bullet", "买买提•艾力", "买买提·艾力", ""},
		{"hyphenation point", "买买提‧艾力", "买买提·艾力", ""},
		{"katakana middle dot", "买买提・艾力", "买买提·艾力", ""},
		{"half-width katakana dot", "买买提･艾力", "买买提·艾力", ""},
		{"spaces around dot", "买买提 · 艾力", "买买提·艾力", ""},
		{"two dots", "阿卜杜·热合曼·买买提", "阿卜杜·热合曼·买买提", ""},
		{"extension A", "王㐀㒵", "王㐀㒵", ""},
		{"extension B", "陈\U00020000", "陈\U00020000", ""},
		{"compatibility ideograph", "李\uF900", "李\uF900", ""},
		{"ling", "王〇", "王〇", ""},
		{"empty", "", "", identity.CodeNameEmpty},
		{"only spaces", " \u3000 ", "", identity.CodeNameEmpty},
		{"latin", "Zhang San", "", identity.CodeNameChars},
		{"latin mixed", "张San", "", identity.CodeNameChars},
		{"full-width latin", "张Ｓ", "", identity.CodeNameChars},
		{"digit", "张3", "", identity.CodeNameChars},
		{"inner space", "张 三", "", identity.CodeNameChars},
		{"leading dot", "·艾力", "", identity.CodeNameChars},
		{"trailing dot", "艾力.", "", identity.CodeNameChars},
		{"doubled dot", "买买提··艾力", "", identity.CodeNameChars},
		{"doubled lookalike dots", "买买提.•艾力", "", identity.CodeNameChars},
		{"kangxi radical", "\u2F00三", "", identity.CodeNameChars},
		{"hiragana", "张あ", "", identity.CodeNameChars},
		{"emoji", "张😀", "", identity.CodeNameChars},
		{"private use", "张\uE000", "", identity.CodeNamePrivateUse},
		{"supplementary private use", "张\U000F0001", "", identity.CodeNamePrivateUse},
		{"latin beats private use", "A\uE000", "", identity.CodeNameChars},
		{"too long", strings.Repeat("张", 65), "", identity.CodeNameTooLong},
		{"max length", strings.Repeat("张", 64), strings.Repeat("张", 64), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := identity.NormalizeName(tt.in)
			if code := identity.ErrorCode(err); code != tt.code {
				t.Fatalf("code = %q (%v), want %q", code, err, tt.code)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("name (-want +got):\n%s", diff)
			}
			if err != nil && len([]rune(strings.TrimSpace(tt.in))) > 2 && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
				t.Errorf("error %q echoes the name", err)
			}
		})
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	ids := map[string]string{
		"11010519491231002X": "11**************2X",
		"440106199001011235": "44**************35",
		"12345":              "12*45",
		"1234":               "****",
		"":                   "",
	}
	for in, want := range ids {
		if got := identity.MaskID(in); got != want {
			t.Errorf("MaskID(%q) = %q, want %q", in, got, want)
		}
	}
	names := map[string]string{"张三": "张*", "张三丰": "张*", "买买提·艾力": "买*", "张": "*", "": ""}
	for in, want := range names {
		if got := identity.MaskName(in); got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
	}
	addresses := map[string]string{"广东省深圳市南山区科技园路1号": "广东省深圳市*", "北京市东城区": "*", "": ""}
	for in, want := range addresses {
		if got := identity.MaskAddress(in); got != want {
			t.Errorf("MaskAddress(%q) = %q, want %q", in, got, want)
		}
	}
	dates := map[string]string{"19900307": "1990****", "1990-03-07": "1990-**-**", "1990年3月7日": "1990年*月*日", "1990": "****"}
	for in, want := range dates {
		if got := identity.MaskDate(in); got != want {
			t.Errorf("MaskDate(%q) = %q, want %q", in, got, want)
		}
	}
}
