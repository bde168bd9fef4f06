package ops

import (
	"bytes"
	"context"
	"html/template"

	"github.com/ivsbatch/ivsbatch/store"
)

// ReportCharts renders the charts of batchID's report (verdict mix,
// similarity histogram, error codes over time, calls per second against the
// quota) as an HTML fragment of inline SVG, each with its title and note,
// for pages that show a batch (the console). Like the report, it holds no
// personal data; its text is escaped by html/template.
func ReportCharts(ctx context.Context, st *store.Store, batchID int64, o ReportOptions) (template.HTML, error) {
	d, err := buildReport(ctx, st, batchID, o)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	for _, c := range d.Charts {
		if err := reportTmpl.ExecuteTemplate(&b, "chart", c); err != nil {
			return "", err
		}
	}
	return template.HTML(b.String()), nil // #nosec: produced by html/template, escaped
}
