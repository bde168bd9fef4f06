// Package migrations holds the Postgres schema as goose SQL migrations,
// embedded in every binary, and applies them (Up). Only `ops migrate` and
// the tests' database set-up apply them; every other command checks that
// the database is at Latest (store.Open) and stops when it is behind.
package migrations

import "embed"

// FS holds the *.sql migrations in version order.
//
//go:embed *.sql
var FS embed.FS
