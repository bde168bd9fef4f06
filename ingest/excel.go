package ingest

import (
	"encoding/json"
	"regexp"
	"strings"
)

// excelText undoes Excel's ="…" trick for keeping a cell as text.
func excelText(s string) string {
	if len(s) >= 3 && strings.HasPrefix(s, `="`) && strings.HasSuffix(s, `"`) {
		return s[2 : len(s)-1]
	}
	return s
}

var scientific = regexp.MustCompile(`^[0-9](\.[0-9]*)?[eE]\+?[0-9]+$`)

// idFiller are characters people and spreadsheets put inside id numbers:
// spaces (ASCII, no-break, ideographic) and dashes.
var idFiller = strings.NewReplacer(" ", "", "\u00A0", "", "\u3000", "", "\t", "", "-", "", "\u2010", "",
	"\u2011", "", "\u2013", "", "\uFF0D", "")

// excelID strips what spreadsheets add to an id number (a leading
// apostrophe, inner spaces and dashes) and refuses one turned into a number
// in scientific notation, whose last digits are gone.
func excelID(s string) (string, *RowError) {
	s = strings.TrimLeft(strings.TrimSpace(s), "'\u2018\u2019")
	s = idFiller.Replace(s)
	if scientific.MatchString(s) {
		return "", &RowError{Field: "id_number", Code: CodeIDScientific,
			Reason: "the spreadsheet stored the id number as a number in scientific notation and dropped its last digits; " +
				"format the id_number column as Text (or export it with =\"…\" or a leading apostrophe), re-type the numbers, and export again"}
	}
	return s, nil
}

// metadata encodes the customer's columns as a JSON object ("" when none).
func metadata(extra map[string]string) string {
	if len(extra) == 0 {
		return ""
	}
	b, err := json.Marshal(extra)
	if err != nil {
		return ""
	}
	return string(b)
}

// undecoded names the first field (column or key) holding U+FFFD, the mark
// of bytes the decoder could not read; "" when none.
func undecoded(fl Fields) string {
	for _, c := range Columns {
		if strings.Contains(fl.Values[c], "\uFFFD") {
			return c
		}
	}
	for k, v := range fl.Extra {
		if strings.Contains(v, "\uFFFD") {
			return k
		}
	}
	return ""
}
