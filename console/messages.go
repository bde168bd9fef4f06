package console

import (
	"net/http"
	"slices"

	"golang.org/x/text/language"

	"github.com/ivsbatch/ivsbatch/internal/i18n"
)

// Lang is a language the console speaks: the catalogue's (internal/i18n,
// which holds the console's words beside the codes and statuses they show).
type Lang = i18n.Lang

// The console's languages.
const (
	English = i18n.English
	Chinese = i18n.Chinese
)

// Langs are the console's languages, the default first.
var Langs = []Lang{English, Chinese}

var matcher = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese})

// LangCookie holds the language an operator chose with the switch in the
// page header; it wins over Accept-Language.
const LangCookie = "ivsbatch_lang"

// langOf is the language of r: the operator's choice (LangCookie), else the
// browser's Accept-Language (zh, zh-CN, zh-Hans… → Chinese), else English.
func langOf(r *http.Request) Lang {
	if c, err := r.Cookie(LangCookie); err == nil {
		for _, l := range Langs {
			if c.Value == string(l) {
				return l
			}
		}
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return English
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return English
	}
	return Langs[i]
}

// text is the catalogue's text for the console's key in l (the key itself
// when missing: the catalogue test in console keeps that from shipping).
func text(l Lang, key string) string { return l.Label(labelKey(key)) }

// labelKey is the catalogue's key of a console key.
func labelKey(key string) string { return "console." + key }

// HasText reports whether the catalogue has the console's key.
func HasText(key string) bool { return slices.Contains(i18n.Labels(), labelKey(key)) }

// switchLabel names the other language, in itself, for the header's switch.
func switchLabel(l Lang) string {
	if l == Chinese {
		return "English"
	}
	return "中文"
}
