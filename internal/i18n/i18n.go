// Package i18n is the message catalogue of what ivsbatch shows people: the
// explanation of every verification code of IVS and every error or reason
// code stored on a record or an attempt (IVS's, the gateway's and ours), the
// names of record statuses, and the labels of exports and reports, in English
// and Simplified Chinese. It depends on nothing of ivsbatch, so every output
// (ops export and report, the console) can use it; codes are plain strings
// and ints. A test fails when a code defined anywhere in the module, or
// documented in ../shared/ivs/README.md, has no entry in both languages.
package i18n

import (
	"fmt"
	"strings"
)

// Lang is a language of the catalogue.
type Lang string

// The languages of the catalogue. English is the default.
const (
	English Lang = "en"
	Chinese Lang = "zh-CN" // Simplified Chinese
)

// Langs lists the catalogue's languages.
func Langs() []Lang { return []Lang{English, Chinese} }

// Parse reads a language tag or a POSIX locale name: "en", "en_US.UTF-8",
// "C" and "POSIX" are English; "zh", "zh-CN", "zh_CN.UTF-8", "zh_CN.GB18030"
// and every other Chinese locale (zh_TW, zh-Hant …: the catalogue has only
// Simplified Chinese) are Chinese. Anything else is an error.
func Parse(s string) (Lang, error) {
	base := strings.ToLower(strings.TrimSpace(s))
	base, _, _ = strings.Cut(base, ".") // codeset
	base, _, _ = strings.Cut(base, "@") // modifier
	lang, _, _ := strings.Cut(strings.ReplaceAll(base, "_", "-"), "-")
	switch {
	case lang == "zh":
		return Chinese, nil
	case lang == "en", base == "c", base == "posix":
		return English, nil
	}
	return English, fmt.Errorf("language %q: want en or zh-CN", s)
}

// FromEnv is the language of the environment's locale, as the C library
// chooses messages: LC_ALL, else LC_MESSAGES, else LANG, the first set one
// decides; a locale the catalogue does not have, or none, is English.
func FromEnv(getenv func(string) string) Lang {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if s := getenv(v); s != "" {
			l, err := Parse(s)
			if err != nil {
				return English
			}
			return l
		}
	}
	return English
}

// text is one message in every language of the catalogue.
type text struct{ en, zh string }

func (t text) in(l Lang) string {
	if l == Chinese && t.zh != "" {
		return t.zh
	}
	return t.en
}
