package ops

import (
	"context"
	"fmt"
	"io"

	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/store"
)

// ApplyRoles makes the least-privilege roles (store.RolesSQL) in the
// database at url and says what to do next. When the schema is current the
// change is audited (command "roles").
func ApplyRoles(ctx context.Context, url, prefix, operator string, out io.Writer) error {
	if err := store.ApplyRoles(ctx, url, prefix); err != nil {
		return err
	}
	fmt.Fprintf(out, "roles %smigrator, %sworker, %soperator, %sreader are ready (NOLOGIN groups).\n", prefix, prefix, prefix, prefix)
	fmt.Fprintf(out, "Give each person and service a login in one of them, e.g.:\n"+
		"  CREATE ROLE alice LOGIN PASSWORD '…' IN ROLE %soperator;\n", prefix)
	st, err := store.Open(ctx, url, store.WithKeyring(nil))
	if err != nil {
		fmt.Fprintf(out, "not audited (%v); the grants follow when ops migrate runs\n", err)
		return nil
	}
	defer st.Close()
	grants, err := st.RoleGrants(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%-10s %-18s %s\n", "role", "table", "privileges")
	for _, g := range grants {
		fmt.Fprintf(out, "%-10s %-18s %s\n", prefix+g.Kind, g.Table, g.Privileges)
	}
	return st.Audit(ctx, store.AuditEntry{Operator: operator, Command: "roles", Args: map[string]any{"prefix": prefix}})
}

// AuditReadOnly writes the audit row of a command that changes nothing
// (export, report). Where it cannot (the reader role without the grant, a
// replica: a read-only transaction) the command's work still stands: it
// says so on warn and returns nil.
func AuditReadOnly(ctx context.Context, st *store.Store, e store.AuditEntry, warn io.Writer) {
	if err := st.Audit(ctx, e); err != nil && warn != nil {
		fmt.Fprintf(warn, "ops %s: done, but its audit row was not written: %s\n", e.Command, sink.Terminal(err.Error()))
	}
}
