// Package migrations holds the Postgres schema as goose SQL migrations,
// embedded so every binary can apply them (store.Migrate).
package migrations

import "embed"

// FS holds the *.sql migrations in version order.
//
//go:embed *.sql
var FS embed.FS
