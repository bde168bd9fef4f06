package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/internal/i18n"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// MaxCustomerColumns is how many distinct customer's columns an export
// writes as columns of their own; a batch with more (JSON Lines rows with
// keys of their own) gets them all in one "metadata" column, a JSON object
// per row.
const MaxCustomerColumns = 200

// OCR and liveness columns, by machine name.
var (
	ocrColumns = []string{"ocr_name_masked", "ocr_number_masked", "ocr_sex", "ocr_birth_masked", "ocr_address_masked",
		"ocr_issue", "ocr_valid_from", "ocr_valid_to"}
	videoColumns  = []string{"video_alive", "video_actions"}
	reviewColumns = []string{"review_decision", "review_by", "review_at", "review_reason"}
)

// exportLayout is the columns of one export, known before its first row.
type exportLayout struct {
	o            ExportOptions
	custom       []string           // the customer's column names, sorted
	customAsJSON bool               // more than MaxCustomerColumns: one metadata column
	card, video  bool               // the batch has id-card shapes, video shapes
	decisions    map[int64]Decision // review columns when there are any
	buf          []cell             // the row being written, reused
}

// planExport reads what the header needs: the batch's shapes and the names
// of its customer's columns (a pass over ids, shapes and metadata only), and
// the review decisions.
func planExport(ctx context.Context, st *store.Store, batchID int64, o ExportOptions) (*exportLayout, error) {
	l := &exportLayout{o: o}
	keys := map[string]bool{}
	err := st.EachOutline(ctx, batchID, func(r store.RecordOutline) error {
		l.card = l.card || r.Shape.UsesCard()
		l.video = l.video || r.Shape.UsesVideo()
		if r.Metadata == "" || l.customAsJSON {
			return nil
		}
		m, err := customColumns(r.Metadata)
		if err != nil {
			return fmt.Errorf("record %d: %w", r.ID, err)
		}
		for k := range m {
			keys[k] = true
		}
		if len(keys) > MaxCustomerColumns {
			l.customAsJSON, keys = true, nil
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	l.custom = slices.Sorted(maps.Keys(keys))
	if l.decisions, err = o.Decisions(ctx, batchID); err != nil {
		return nil, fmt.Errorf("export: review decisions: %w", err)
	}
	return l, nil
}

// customColumns decodes a record's customer's columns (a JSON object of
// strings, as intake stores it).
func customColumns(metadata string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(metadata), &m); err != nil {
		return nil, fmt.Errorf("customer's columns: %w", err)
	}
	return m, nil
}

// human reports whether the export is for people: names translated,
// times as the spreadsheet's dates.
func (l *exportLayout) human() bool { return !l.o.Raw }

// label is column key's header: its machine name in English or raw, the
// catalogue's label otherwise.
func (l *exportLayout) label(key string) string {
	if !l.human() || l.o.Lang == i18n.English {
		return key
	}
	return l.o.Lang.Label(key)
}

// header is the export's first row.
func (l *exportLayout) header() []string {
	var h []string
	for _, k := range ExportColumns {
		h = append(h, l.label(k))
	}
	zone := ""
	if l.human() {
		zone = " (" + l.o.Zone.String() + ")"
	}
	h[slices.Index(ExportColumns, "finished_at")] += zone
	ours := map[string]bool{}
	for _, s := range h {
		ours[s] = true
	}
	if l.customAsJSON {
		h = append(h, l.label("metadata"))
	}
	for _, k := range l.custom {
		if ours[k] { // a customer's column named like one of ours
			k += " (" + l.o.Lang.Label("metadata") + ")"
		}
		h = append(h, k)
	}
	if l.card {
		for _, k := range ocrColumns {
			h = append(h, l.label(k))
		}
	}
	if l.video {
		for _, k := range videoColumns {
			h = append(h, l.label(k))
		}
	}
	if len(l.decisions) > 0 {
		for _, k := range reviewColumns {
			h = append(h, l.label(k))
		}
		h[len(h)-2] += zone
	}
	return h
}

// row is record r's row, in header's order.
func (l *exportLayout) row(r *pipeline.Record) []cell {
	row := l.buf[:0]
	text := func(s string) { row = append(row, cell{text: s}) }
	num := func(s string) { row = append(row, cell{text: s, num: true}) }
	code, sim, linked := "", "", ""
	if r.Code != nil {
		code = strconv.Itoa(*r.Code)
	}
	if r.Similarity != nil {
		sim = strconv.FormatFloat(*r.Similarity, 'f', -1, 64)
	}
	if r.LinkedRecordID != nil {
		linked = strconv.FormatInt(*r.LinkedRecordID, 10) // answered by reuse: no call
	}
	num(strconv.FormatInt(r.ID, 10))
	text(r.Ref)
	num(strconv.Itoa(r.Line))
	text(l.name(l.o.Lang.Shape, string(r.Shape)))
	text(l.name(l.o.Lang.Status, string(r.Status)))
	text(l.name(l.o.Lang.Result, r.Result))
	num(code)
	num(sim)
	text(l.o.Lang.Explain(r.Code, r.LastErrorCode))
	text(r.LastErrorCode)
	text(r.Scrub(r.LastErrorMessage))
	num(strconv.Itoa(r.Attempts))
	row = append(row, cell{at: r.FinishedAt})
	num(linked)
	text(identity.MaskName(r.Name))
	text(identity.MaskID(r.IDNumber))
	text(l.name(func(v string) string { return l.o.Lang.Label("personal_data." + v) }, personalData(r)))
	row = l.customCells(row, r)
	if l.card {
		row = l.ocrCells(row, r.IDCardResult)
	}
	if l.video {
		row = l.videoCells(row, r)
	}
	if len(l.decisions) > 0 {
		row = l.decisionCells(row, r.ID)
	}
	l.buf = row
	return row
}

// name is v named by the catalogue (for people), or v as stored (raw).
func (l *exportLayout) name(fn func(string) string, v string) string {
	if v == "" || !l.human() {
		return v
	}
	return fn(v)
}

func (l *exportLayout) customCells(row []cell, r *pipeline.Record) []cell {
	if l.customAsJSON {
		return append(row, cell{text: r.Metadata})
	}
	if len(l.custom) == 0 {
		return row
	}
	m := map[string]string{}
	if r.Metadata != "" {
		m, _ = customColumns(r.Metadata) // decoded once already in planExport
	}
	for _, k := range l.custom {
		row = append(row, cell{text: m[k]})
	}
	return row
}

// ocrCells are IVS's reading of the id card, masked like the inputs: name,
// number, birth date and address never in full. The ethnicity is left out.
func (l *exportLayout) ocrCells(row []cell, o *pipeline.IDCardResult) []cell {
	if o == nil {
		return append(row, make([]cell, len(ocrColumns))...)
	}
	for _, s := range []string{identity.MaskName(o.Name), identity.MaskID(o.Number), o.Sex, identity.MaskDate(o.Birth),
		identity.MaskAddress(o.Address), o.Issue, o.ValidFrom, o.ValidTo} {
		row = append(row, cell{text: s})
	}
	return row
}

// videoCells are the liveness result: alive or not, and each action seen
// with IVS's confidence.
func (l *exportLayout) videoCells(row []cell, r *pipeline.Record) []cell {
	alive := ""
	if r.VideoAlive != nil {
		alive = strconv.FormatBool(*r.VideoAlive)
		if l.human() {
			alive = l.o.Lang.Label(map[bool]string{true: "yes", false: "no"}[*r.VideoAlive])
		}
	}
	var acts []string
	for _, a := range r.VideoActions {
		conf := strconv.FormatFloat(a.Confidence, 'f', -1, 64)
		if l.human() {
			acts = append(acts, fmt.Sprintf("%s %s", l.o.Lang.Label("action."+strconv.Itoa(a.Action)), conf))
		} else {
			acts = append(acts, fmt.Sprintf("%d:%s", a.Action, conf))
		}
	}
	sep := ","
	if l.human() {
		sep = "; "
	}
	return append(row, cell{text: alive}, cell{text: strings.Join(acts, sep)})
}

func (l *exportLayout) decisionCells(row []cell, id int64) []cell {
	d, ok := l.decisions[id]
	if !ok {
		return append(row, make([]cell, len(reviewColumns))...)
	}
	outcome := d.Outcome
	if key := "decision." + outcome; l.human() && l.o.Lang.Label(key) != key {
		outcome = l.o.Lang.Label(key)
	}
	at := d.At
	return append(row, cell{text: outcome}, cell{text: d.By}, cell{at: &at}, cell{text: d.Reason})
}
