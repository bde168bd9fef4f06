package ops

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/i18n"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// ReportOptions configure Report.
type ReportOptions struct {
	Quota float64   // the account's requests/s per endpoint, drawn as a line (default 10)
	Now   time.Time // "generated at" (default now)
	// Lang is the report's language (default English): headings, status
	// and verdict names, and the explanation of every verification and
	// error code.
	Lang i18n.Lang
	// Zone is the time zone of the times shown (default UTC; ops report
	// defaults to the machine's, LoadZone).
	Zone *time.Location
	// Warn is where ReportAudited says that it could not write its audit row
	// (a reader without the grant, a replica); default os.Stderr.
	Warn io.Writer
}

// Chart ids in the report, in order.
const (
	ChartVerdicts   = "chart-verdicts"
	ChartSimilarity = "chart-similarity"
	ChartErrors     = "chart-errors"
	ChartCalls      = "chart-calls"
)

// Report writes a self-contained HTML report of batchID (inline CSS and SVG,
// no scripts, nothing fetched): the verdict mix, a similarity histogram,
// error codes of the attempts per minute, and calls per second per endpoint
// against the quota. Every chart draws its axes, and "no data" when empty.
// Every verification and error code of the batch is listed with what it
// means; headings and names are in o.Lang, times in o.Zone. No personal
// data appears in it.
func Report(ctx context.Context, st *store.Store, batchID int64, w io.Writer, o ReportOptions) error {
	d, err := buildReport(ctx, st, batchID, o)
	if err != nil {
		return err
	}
	return reportTmpl.Execute(w, d)
}

// buildReport gathers what Report draws.
func buildReport(ctx context.Context, st *store.Store, batchID int64, o ReportOptions) (reportData, error) {
	if o.Quota <= 0 {
		o.Quota = 10
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	lang, err := i18n.Parse(string(cmp.Or(o.Lang, i18n.English)))
	if err != nil {
		return reportData{}, fmt.Errorf("report: %w", err)
	}
	o.Lang = lang
	if o.Zone == nil {
		o.Zone = time.UTC
	}
	l := o.Lang
	bs, err := st.GetBatchStatus(ctx, batchID)
	if err != nil {
		return reportData{}, err
	}
	bud, err := st.GetBudget(ctx, batchID)
	if err != nil {
		return reportData{}, err
	}
	sims, err := st.SimilarityBins(ctx, batchID)
	if err != nil {
		return reportData{}, err
	}
	codes, err := st.AttemptErrorCodes(ctx, batchID, "minute")
	if err != nil {
		return reportData{}, err
	}
	unit := time.Minute
	if len(codes) > 0 && codes[len(codes)-1].At.Sub(codes[0].At) > maxBuckets*time.Minute {
		unit = time.Hour
		if codes, err = st.AttemptErrorCodes(ctx, batchID, "hour"); err != nil {
			return reportData{}, err
		}
	}
	calls, err := st.CallsPerSecond(ctx, batchID)
	if err != nil {
		return reportData{}, err
	}
	reused, err := st.ReusedCount(ctx, batchID)
	if err != nil {
		return reportData{}, err
	}
	d := reportData{Reused: reused, Lang: l,
		Batch: bs.Batch, Created: bs.Batch.CreatedAt.In(o.Zone).Format("2006-01-02 15:04:05 MST"),
		Generated: o.Now.In(o.Zone).Format(time.RFC3339), Total: bs.Counts.Total, Open: bs.Counts.Open(),
		Budget: bud, Quota: o.Quota, Zone: o.Zone.String(),
		Charts: []chart{
			verdictChart(bs, l),
			similarityChart(sims, l),
			errorChart(codes, unit, l, o.Zone),
			callsChart(calls, o.Quota, l, o.Zone),
		},
	}
	for _, s := range pipeline.StatusDisplayOrder {
		if n := bs.Counts.ByStatus[s]; n > 0 {
			d.Statuses = append(d.Statuses, kv{K: l.Status(string(s)), V: n})
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(bs.ByVerdict), store.VerdictKey.Compare) {
		d.Verdicts = append(d.Verdicts, kv{K: strconv.Itoa(k.Code) + " " + l.Result(k.Verdict), V: bs.ByVerdict[k],
			Explain: l.Verdict(k.Code)})
	}
	for _, k := range slices.Sorted(maps.Keys(bs.ByError)) {
		d.Errors = append(d.Errors, kv{K: k, V: bs.ByError[k], Explain: l.Code(k)})
	}
	return d, nil
}

// ReportAudited is Report followed by its audit row. An audit row that
// cannot be written (a replica, a read-only role) does not undo the report:
// it is reported on o.Warn.
func ReportAudited(ctx context.Context, st *store.Store, batchID int64, w io.Writer, o ReportOptions, path, operator string) error {
	if err := Report(ctx, st, batchID, w, o); err != nil {
		return err
	}
	AuditReadOnly(ctx, st, store.AuditEntry{Operator: operator, Command: "report", BatchID: batchID,
		Args: map[string]any{"batch": batchID, "output": path, "quota": o.Quota, "lang": string(cmp.Or(o.Lang, i18n.English))}},
		cmp.Or[io.Writer](o.Warn, os.Stderr))
	return nil
}

type kv struct {
	K       string
	V       int
	Explain string // what the code means, in the report's language
}

type reportData struct {
	Lang      i18n.Lang
	Batch     pipeline.Batch
	Created   string // the batch's creation, in the report's zone
	Zone      string
	Generated string
	Total     int
	Open      int
	Reused    int // answered by reusing the verdict of identical inputs: no call
	Budget    store.Budget
	Quota     float64
	Statuses  []kv
	Verdicts  []kv
	Errors    []kv
	Charts    []chart
}

// T is the catalogue's text of key in the report's language.
func (d reportData) T(key string) string { return d.Lang.Label(key) }

// ---- chart geometry ----

const (
	chartW, chartH         = 1000.0, 320.0
	padL, padR, padT, padB = 60.0, 20.0, 20.0, 70.0
	plotW, plotH           = chartW - padL - padR, chartH - padT - padB
	maxBuckets             = 240 // time buckets drawn before switching to a coarser unit
	maxSeconds             = 600 // seconds drawn one by one; longer spans show each bucket's peak second
)

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
	"#bcbd22", "#17becf"}

type chart struct {
	ID, Title, Note string
	W, H            float64
	X0, Y0, X1, Y1  float64 // plot area: left, bottom, right, top
	YTicks          []tick
	XLabels         []xlabel
	Bars            []bar
	HLines          []hline
	Legend          []legend
	Empty           bool
	NoData          string // drawn when Empty, in the report's language
	YLabel          string
}

type tick struct {
	Y     float64
	Label string
}

type xlabel struct {
	X, Y   float64
	Text   string
	Rotate bool
}

type bar struct {
	X, Y, W, H float64
	Fill       string
	Title      string
}

type hline struct {
	Y      float64
	Label  string
	LabelX float64
	LabelY float64
	Color  string
}

type legend struct {
	Color, Text string
}

func newChart(l i18n.Lang, id, title, note, ylabel string) chart {
	return chart{ID: id, Title: title, Note: note, YLabel: ylabel, NoData: l.Label("report.no_data"), W: chartW, H: chartH,
		X0: padL, Y0: padT + plotH, X1: padL + plotW, Y1: padT}
}

// yScale sets ticks for values 0..max and returns the value → y mapping.
func (c *chart) yScale(max float64) func(float64) float64 {
	if max <= 0 {
		max = 1
	}
	step := niceStep(max / 5)
	top := math.Ceil(max/step) * step
	for v := 0.0; v <= top+step/2; v += step {
		y := c.Y0 - v/top*plotH
		c.YTicks = append(c.YTicks, tick{Y: y, Label: trimFloat(v)})
	}
	return func(v float64) float64 { return c.Y0 - v/top*plotH }
}

func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			if m*mag < 1 {
				return 1
			}
			return m * mag
		}
	}
	return 10 * mag
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// slots lays out n equal slots across the plot and returns slot i's left x and width.
func slots(n int) (func(int) float64, float64) {
	if n < 1 {
		n = 1
	}
	wd := plotW / float64(n)
	return func(i int) float64 { return padL + float64(i)*wd }, wd
}

func (c *chart) labelEvery(n int) int {
	return max(1, int(math.Ceil(float64(n)/24)))
}

func verdictChart(bs store.BatchStatus, l i18n.Lang) chart {
	c := newChart(l, ChartVerdicts, l.Label("chart.verdicts"), l.Label("chart.verdicts.note"), l.Label("report.records"))
	type cat struct {
		label string
		n     int
		color string
	}
	var cats []cat
	for i, k := range slices.SortedFunc(maps.Keys(bs.ByVerdict), store.VerdictKey.Compare) {
		color := palette[i%len(palette)]
		switch {
		case k.Code == 1000:
			color = "#2ca02c"
		case k.Verdict == "invalid":
			color = "#d62728"
		case k.Verdict == "nonexistent":
			color = "#ff7f0e"
		}
		cats = append(cats, cat{strconv.Itoa(k.Code) + " " + l.Result(k.Verdict), bs.ByVerdict[k], color})
	}
	// records without a verdict: set aside at enqueue (review without a
	// verification code), rejected before any call, failed without a verdict
	reviewNoCode := bs.Counts.ByStatus[pipeline.StatusReview]
	for k, n := range bs.ByVerdict {
		if pipeline.VerdictRuleOf(k.Code).Status == pipeline.StatusReview {
			reviewNoCode -= n
		}
	}
	if reviewNoCode > 0 {
		cats = append(cats, cat{l.Label("chart.review_not_sent"), reviewNoCode, "#9467bd"})
	}
	if n := bs.Counts.ByStatus[pipeline.StatusRejected]; n > 0 {
		cats = append(cats, cat{l.Label("chart.rejected"), n, "#8c564b"})
	}
	if n := bs.Counts.ByStatus[pipeline.StatusFailed]; n > 0 {
		cats = append(cats, cat{l.Label("chart.failed"), n, "#7f7f7f"})
	}
	if n := bs.Counts.Open(); n > 0 {
		cats = append(cats, cat{l.Label("chart.open"), n, "#c7c7c7"})
	}
	maxN := 0
	for _, k := range cats {
		maxN = max(maxN, k.n)
	}
	y := c.yScale(float64(maxN))
	if len(cats) == 0 {
		c.Empty = true
		return c
	}
	xs, wd := slots(len(cats))
	for i, k := range cats {
		top := y(float64(k.n))
		bw := min(wd*0.7, 120)
		c.Bars = append(c.Bars, bar{X: xs(i) + (wd-bw)/2, Y: top, W: bw, H: c.Y0 - top, Fill: k.color,
			Title: fmt.Sprintf("%s: %d", k.label, k.n)})
		c.XLabels = append(c.XLabels, xlabel{X: xs(i) + wd/2, Y: c.Y0 + 16, Text: fmt.Sprintf("%s (%d)", k.label, k.n)})
	}
	return c
}

// similarityChart draws bins: records per similarity bin of width 10.
func similarityChart(bins []int, l i18n.Lang) chart {
	c := newChart(l, ChartSimilarity, l.Label("chart.similarity"), l.Label("chart.similarity.note"), l.Label("report.records"))
	if len(bins) == 0 {
		bins = make([]int, 10)
	}
	y := c.yScale(float64(slices.Max(bins)))
	xs, wd := slots(len(bins))
	for i, n := range bins {
		c.XLabels = append(c.XLabels, xlabel{X: xs(i) + wd/2, Y: c.Y0 + 16, Text: fmt.Sprintf("%d–%d", i*10, i*10+10)})
		if n == 0 {
			continue
		}
		top := y(float64(n))
		c.Bars = append(c.Bars, bar{X: xs(i) + 2, Y: top, W: wd - 4, H: c.Y0 - top, Fill: "#1f77b4",
			Title: fmt.Sprintf("%d–%d: %d records", i*10, i*10+10, n)})
	}
	c.Empty = slices.Max(bins) == 0
	return c
}

func errorChart(codes []store.CodeBucket, unit time.Duration, l i18n.Lang, zone *time.Location) chart {
	name := l.Label("chart.minute")
	if unit == time.Hour {
		name = l.Label("chart.hour")
	}
	c := newChart(l, ChartErrors, l.Label("chart.errors"), fmt.Sprintf(l.Label("chart.errors.note"), name), l.Label("chart.attempts"))
	if len(codes) == 0 {
		c.yScale(1)
		c.Empty = true
		return c
	}
	first, last := codes[0].At, codes[len(codes)-1].At
	n := int(last.Sub(first)/unit) + 1
	n = min(n, maxBuckets*60) // defensive
	per := map[int]map[string]int{}
	colors := map[string]string{}
	var names []string
	for _, b := range codes {
		i := int(b.At.Sub(first) / unit)
		if per[i] == nil {
			per[i] = map[string]int{}
		}
		per[i][b.Code] += b.Count
		if _, ok := colors[b.Code]; !ok {
			names = append(names, b.Code)
			colors[b.Code] = ""
		}
	}
	sort.Strings(names)
	for i, k := range names {
		colors[k] = palette[i%len(palette)]
		c.Legend = append(c.Legend, legend{Color: colors[k], Text: k})
	}
	maxN := 0
	for _, m := range per {
		t := 0
		for _, v := range m {
			t += v
		}
		maxN = max(maxN, t)
	}
	y := c.yScale(float64(maxN))
	xs, wd := slots(n)
	every := c.labelEvery(n)
	for i := range n {
		at := first.Add(time.Duration(i) * unit)
		if i%every == 0 {
			c.XLabels = append(c.XLabels, xlabel{X: xs(i) + wd/2, Y: c.Y0 + 14, Text: at.In(zone).Format("15:04"), Rotate: n > 12})
		}
		acc := 0
		for _, k := range names {
			v := per[i][k]
			if v == 0 {
				continue
			}
			top, bottom := y(float64(acc+v)), y(float64(acc))
			bw := min(max(wd*0.8, 1), 80)
			c.Bars = append(c.Bars, bar{X: xs(i) + (wd-bw)/2, Y: top, W: bw, H: bottom - top, Fill: colors[k],
				Title: fmt.Sprintf("%s %s %s: %d — %s", at.In(zone).Format("2006-01-02 15:04"), zone, k, v, l.Code(k))})
			acc += v
		}
	}
	return c
}

func callsChart(calls []store.SecondCount, quota float64, l i18n.Lang, zone *time.Location) chart {
	c := newChart(l, ChartCalls, l.Label("chart.calls"), fmt.Sprintf(l.Label("chart.calls.note"), trimFloat(quota)),
		l.Label("chart.calls_per_second"))
	var eps []string
	for _, x := range calls {
		if !slices.Contains(eps, x.Endpoint) {
			eps = append(eps, x.Endpoint)
		}
	}
	sort.Strings(eps)
	maxN := 0
	for _, x := range calls {
		maxN = max(maxN, x.Count)
	}
	y := c.yScale(math.Max(float64(maxN), quota) * 1.1)
	qy := y(quota)
	c.HLines = append(c.HLines, hline{Y: qy, Label: fmt.Sprintf(l.Label("chart.quota"), trimFloat(quota)), LabelX: c.X1 - 4,
		LabelY: qy - 4, Color: "#d62728"})
	if len(calls) == 0 {
		c.Empty = true
		return c
	}
	first, last := calls[0].At, calls[len(calls)-1].At
	span := int(last.Sub(first)/time.Second) + 1
	step := max(1, int(math.Ceil(float64(span)/maxSeconds))) // seconds per bucket; a bucket shows its peak second
	n := (span + step - 1) / step
	peak := make([]map[string]int, n)
	for _, x := range calls {
		i := int(x.At.Sub(first)/time.Second) / step
		if peak[i] == nil {
			peak[i] = map[string]int{}
		}
		peak[i][x.Endpoint] = max(peak[i][x.Endpoint], x.Count)
	}
	for i, ep := range eps {
		c.Legend = append(c.Legend, legend{Color: palette[i%len(palette)], Text: ep})
	}
	if step > 1 {
		c.Note += fmt.Sprintf(l.Label("chart.calls.peak"), step)
	}
	xs, wd := slots(n)
	every := c.labelEvery(n)
	bw := min(wd*0.8/float64(len(eps)), 40)
	off := (wd - bw*float64(len(eps))) / 2
	for i := range n {
		at := first.Add(time.Duration(i*step) * time.Second)
		if i%every == 0 {
			c.XLabels = append(c.XLabels, xlabel{X: xs(i) + wd/2, Y: c.Y0 + 14, Text: at.In(zone).Format("15:04:05"), Rotate: n > 12})
		}
		for j, ep := range eps {
			v := peak[i][ep]
			if v == 0 {
				continue
			}
			top := y(float64(v))
			c.Bars = append(c.Bars, bar{X: xs(i) + off + float64(j)*bw, Y: top, W: max(bw, 1), H: c.Y0 - top,
				Fill: palette[j%len(palette)], Title: fmt.Sprintf("%s %s %s: %d", at.In(zone).Format("15:04:05"), zone, ep, v)})
		}
	}
	return c
}

func fmtf(v float64) string { return fmt.Sprintf("%.1f", v) }

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{"f": fmtf,
	"half": func(a, b float64) string { return fmtf((a + b) / 2) }}).Parse(chartTmpl + `<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<title>{{printf (.T "report.title") .Batch.ID}}</title>
<style>
body { font: 14px/1.4 -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; margin: 24px 32px; color: #222; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 2px; }
.meta { color: #555; margin-bottom: 12px; }
.note { color: #666; font-size: 12px; margin: 0 0 6px; }
table { border-collapse: collapse; margin: 8px 24px 8px 0; display: inline-table; vertical-align: top; }
td, th { border: 1px solid #ddd; padding: 3px 10px; text-align: left; }
th { background: #f4f4f4; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.codes td:last-child { max-width: 520px; }
svg.chart { display: block; background: #fcfcfc; border: 1px solid #e4e4e4; }
svg.chart .axis { stroke: #333; stroke-width: 1; }
svg.chart .grid { stroke: #e6e6e6; stroke-width: 1; }
svg.chart text { font-size: 11px; fill: #444; }
svg.chart text.empty { font-size: 18px; fill: #999; }
svg.chart line.quota { stroke-width: 2; stroke-dasharray: 6 4; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 11px; height: 11px; margin-right: 4px; vertical-align: -1px; }
</style>
</head>
<body>
<h1>{{printf (.T "report.heading") .Batch.ID .Batch.Name}}</h1>
<div class="meta">{{printf (.T "report.meta") .Created .Total .Open .Reused .Generated}} · {{printf (.T "report.times") .Zone}}</div>
<table><tr><th>{{.T "status"}}</th><th>{{.T "report.records"}}</th></tr>
{{range .Statuses}}<tr><td>{{.K}}</td><td class="n">{{.V}}</td></tr>
{{end}}</table>
{{if .Verdicts}}<table class="codes"><tr><th>{{.T "report.verdict_code"}}</th><th>{{.T "report.records"}}</th><th>{{.T "explanation"}}</th></tr>
{{range .Verdicts}}<tr><td>{{.K}}</td><td class="n">{{.V}}</td><td>{{.Explain}}</td></tr>
{{end}}</table>{{end}}
{{if .Errors}}<table class="codes"><tr><th>{{.T "report.error_code"}}</th><th>{{.T "report.records"}}</th><th>{{.T "explanation"}}</th></tr>
{{range .Errors}}<tr><td>{{.K}}</td><td class="n">{{.V}}</td><td>{{.Explain}}</td></tr>
{{end}}</table>{{end}}
<table><tr><th>{{.T "report.budget"}}</th><th></th></tr>
<tr><td>{{.T "report.cap"}}</td><td class="n">{{if .Budget.MaxBilled}}{{.Budget.MaxBilled}}{{else}}{{.T "report.none"}}{{end}}</td></tr>
<tr><td>{{.T "report.billed"}}</td><td class="n">{{.Budget.Billed}}</td></tr>
<tr><td>{{.T "report.possibly"}}</td><td class="n">{{.Budget.Possibly}}</td></tr>
</table>
{{range .Charts}}
{{template "chart" .}}
{{end}}
</body>
</html>
`))

// chartTmpl draws one chart: its title, note, legend and SVG (used by the
// report and by the console's batch page, ReportCharts).
const chartTmpl = `{{define "chart"}}<h2>{{.Title}}</h2>
<p class="note">{{.Note}}</p>
{{if .Legend}}<div class="legend">{{range .Legend}}<span><i style="background: {{.Color}}"></i>{{.Text}}</span>{{end}}</div>{{end}}
<svg class="chart" id="{{.ID}}" xmlns="http://www.w3.org/2000/svg" width="{{f .W}}" height="{{f .H}}" viewBox="0 0 {{f .W}} {{f .H}}">
{{- $c := .}}
{{range .YTicks}}<line class="grid" x1="{{f $c.X0}}" x2="{{f $c.X1}}" y1="{{f .Y}}" y2="{{f .Y}}"/><text x="{{f $c.X0}}" dx="-6" y="{{f .Y}}" dy="4" text-anchor="end">{{.Label}}</text>
{{end}}
{{range .Bars}}<rect class="bar" x="{{f .X}}" y="{{f .Y}}" width="{{f .W}}" height="{{f .H}}" fill="{{.Fill}}"><title>{{.Title}}</title></rect>
{{end}}
{{range .HLines}}<line class="quota" x1="{{f $c.X0}}" x2="{{f $c.X1}}" y1="{{f .Y}}" y2="{{f .Y}}" stroke="{{.Color}}"/><text x="{{f .LabelX}}" y="{{f .LabelY}}" text-anchor="end" fill="{{.Color}}">{{.Label}}</text>
{{end}}
<line class="axis" x1="{{f .X0}}" x2="{{f .X1}}" y1="{{f .Y0}}" y2="{{f .Y0}}"/>
<line class="axis" x1="{{f .X0}}" x2="{{f .X0}}" y1="{{f .Y0}}" y2="{{f .Y1}}"/>
<text x="14" y="{{half .Y0 .Y1}}" transform="rotate(-90 14 {{half .Y0 .Y1}})" text-anchor="middle">{{.YLabel}}</text>
{{range .XLabels}}{{if .Rotate}}<text x="{{f .X}}" y="{{f .Y}}" text-anchor="end" transform="rotate(-45 {{f .X}} {{f .Y}})">{{.Text}}</text>{{else}}<text x="{{f .X}}" y="{{f .Y}}" text-anchor="middle">{{.Text}}</text>{{end}}
{{end}}
{{if .Empty}}<text class="empty" x="{{half .X0 .X1}}" y="{{half .Y0 .Y1}}" text-anchor="middle">{{.NoData}}</text>{{end}}
</svg>
{{end}}`
