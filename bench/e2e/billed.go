package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/store"
)

// billedTwice explains each uuid the simulator billed more than once from
// the attempts table, and counts the extra billed calls no attempt accounts
// for: every call IVS billed must be an attempt marked billed or possibly
// billed (README, "every extra billed call marked").
func billedTwice(ctx context.Context, st *store.Store, l ivssim.Ledger) (lines []string, unmarked int, err error) {
	for _, u := range slices.Sorted(maps.Keys(l.Duplicates)) {
		rows, err := st.Pool().Query(ctx, `
			SELECT id, state, coalesce(class, ''), coalesce(code, ''), billed, possibly_billed, started_at, finished_at
			FROM attempts WHERE uuid = $1 ORDER BY id`, u)
		if err != nil {
			return nil, 0, err
		}
		var parts []string
		marked := 0
		for rows.Next() {
			var id int64
			var state, class, code string
			var billed, possibly bool
			var started time.Time
			var finished *time.Time
			if err := rows.Scan(&id, &state, &class, &code, &billed, &possibly, &started, &finished); err != nil {
				rows.Close()
				return nil, 0, err
			}
			if billed || possibly {
				marked++
			}
			took := "open"
			if finished != nil {
				took = finished.Sub(started).Round(time.Millisecond).String()
			}
			parts = append(parts, fmt.Sprintf("#%d %s %s %s billed=%t possibly=%t %s", id, state, class, code,
				billed, possibly, took))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, 0, err
		}
		n := l.Duplicates[u]
		unmarked += max(0, n-marked)
		lines = append(lines, fmt.Sprintf("%s billed %d×, %d attempts marked: %s", u, n, marked, strings.Join(parts, "; ")))
	}
	return lines, unmarked, nil
}
