package ops

import (
	"context"
	"fmt"
	"io"

	"github.com/ivsbatch/ivsbatch/migrations"
	"github.com/ivsbatch/ivsbatch/store"
)

// Migrate applies this build's migrations to the database at url (the only
// command that does: see store.Migrate) and prints what it applied. A
// migration that changed the schema is audited (command "migrate").
func Migrate(ctx context.Context, url, operator string, out io.Writer) error {
	applied, err := store.Migrate(ctx, url)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(out, "schema up to date at version %d: nothing applied\n", migrations.Latest())
		return nil
	}
	fmt.Fprintf(out, "applied migrations %v: schema at version %d\n", applied, applied[len(applied)-1])
	st, err := store.Open(ctx, url, store.WithKeyring(nil))
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Audit(ctx, store.AuditEntry{Operator: operator, Command: "migrate",
		Result: map[string]any{"applied": applied, "version": applied[len(applied)-1]}})
}

// PrintSchema writes the database's schema state against this build's
// migrations (ops migrate -status): it changes nothing.
func PrintSchema(w io.Writer, s store.SchemaState) {
	fmt.Fprintf(w, "database schema at version %d; this build has %d\n", s.Current(), migrations.Latest())
	if len(s.Missing) > 0 {
		fmt.Fprintf(w, "not applied: %v (run ops migrate with the migrator role)\n", s.Missing)
	}
	if len(s.Newer) > 0 {
		fmt.Fprintf(w, "applied by a newer build: %v (upgrade this build)\n", s.Newer)
	}
}
