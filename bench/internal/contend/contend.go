// Package contend makes the per-record writes workers make while a
// benchmark times a bulk command (ops purge, ops requeue) beside them, and
// reports how long the slowest waited: the command must not hold the rows
// workers write.
package contend

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Writes is what Start's writer did.
type Writes struct {
	N     int           // statements that wrote a row
	Worst time.Duration // the slowest of them
	Err   error         // what stopped the writer early, if anything
}

// Start runs stmt over and over, one transaction each under lock_timeout =
// 1s, until stop is closed, and then sends what it did on the returned
// channel. stmt writes one record of batch ($1) after the id $2 and returns
// its id, from which the next statement goes on. When no record is left,
// the writer starts again from the first with round set, and stops with
// pgx.ErrNoRows without it.
func Start(ctx context.Context, pool *pgxpool.Pool, stmt string, batch int64, round bool, stop <-chan struct{}) <-chan Writes {
	res := make(chan Writes, 1)
	go func() {
		var w Writes
		defer func() { res <- w }()
		var after int64
		for {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '1s'`); err != nil {
					return err
				}
				return tx.QueryRow(ctx, stmt, batch, after).Scan(&after)
			})
			if round && errors.Is(err, pgx.ErrNoRows) {
				after = 0
				continue
			}
			if err != nil {
				w.Err = err
				return
			}
			w.N++
			w.Worst = max(w.Worst, time.Since(start))
		}
	}()
	return res
}
