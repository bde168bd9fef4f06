package console

import (
	"html/template"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

func TestChartCache(t *testing.T) {
	t.Parallel()
	counts := func(done, failed int) store.Counts {
		return store.Counts{Total: done + failed, ByStatus: map[pipeline.Status]int{pipeline.StatusDone: done, pipeline.StatusFailed: failed}}
	}
	var cc chartCache
	k1 := keyOf(1, English, counts(9, 1))
	cc.put(k1, "<svg>1</svg>")
	if h, ok := cc.get(keyOf(1, English, counts(9, 1))); !ok || h != "<svg>1</svg>" {
		t.Fatalf("same batch, same counts: %q %v", h, ok)
	}
	if _, ok := cc.get(keyOf(1, Chinese, counts(9, 1))); ok {
		t.Fatal("another language's drawing returned")
	}
	// a requeue changed the counts: a new drawing, and the old one dropped
	k2 := keyOf(1, English, counts(10, 0))
	if _, ok := cc.get(k2); ok {
		t.Fatal("a drawing of other counts returned")
	}
	cc.put(k2, "<svg>2</svg>")
	if _, ok := cc.get(k1); ok || len(cc.order) != 1 {
		t.Fatalf("the stale drawing kept: %d entries", len(cc.order))
	}
	for b := range int64(2 * chartCacheSize) {
		cc.put(keyOf(100+b, English, counts(1, 0)), template.HTML("x"))
	}
	if len(cc.m) != chartCacheSize || len(cc.order) != chartCacheSize {
		t.Fatalf("%d entries, %d in order; want at most %d", len(cc.m), len(cc.order), chartCacheSize)
	}
	if _, ok := cc.get(keyOf(100+2*chartCacheSize-1, English, counts(1, 0))); !ok {
		t.Fatal("the newest drawing evicted")
	}
}
