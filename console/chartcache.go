package console

import (
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/ivsbatch/ivsbatch/store"
)

// chartCache keeps the charts of finished batches: drawing them reads every
// record and attempt of the batch (seconds on a million records), and a
// finished batch's page is opened again and again. An entry holds while the
// batch's counts by status are the ones it was drawn at: a requeue or a
// review decision changes them, and the charts are drawn again.
type chartCache struct {
	mu    sync.Mutex
	m     map[chartKey]template.HTML
	order []chartKey // oldest first
}

type chartKey struct {
	batch  int64
	lang   Lang
	counts string
}

// chartCacheSize bounds the batches kept (a few hundred KB of SVG each).
const chartCacheSize = 32

func keyOf(batch int64, l Lang, c store.Counts) chartKey {
	var b strings.Builder
	for _, s := range slices.Sorted(maps.Keys(c.ByStatus)) {
		fmt.Fprintf(&b, "%s=%d;", s, c.ByStatus[s])
	}
	return chartKey{batch, l, b.String()}
}

func (cc *chartCache) get(k chartKey) (template.HTML, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	h, ok := cc.m[k]
	return h, ok
}

func (cc *chartCache) put(k chartKey, h template.HTML) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil {
		cc.m = map[chartKey]template.HTML{}
	}
	if _, ok := cc.m[k]; ok {
		return
	}
	// an older drawing of the same batch and language is stale
	cc.order = slices.DeleteFunc(cc.order, func(o chartKey) bool {
		if o.batch == k.batch && o.lang == k.lang {
			delete(cc.m, o)
			return true
		}
		return false
	})
	if len(cc.order) == chartCacheSize {
		delete(cc.m, cc.order[0])
		cc.order = cc.order[1:]
	}
	cc.m[k] = h
	cc.order = append(cc.order, k)
}
