package store

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The role kinds a deployment needs. Each is a group role (NOLOGIN): give
// every person or service a login role in one of them
// (CREATE ROLE alice LOGIN IN ROLE ivsbatch_operator), so that the audit
// log's db_user names who it was.
const (
	RoleMigrator = "migrator" // owns the schema; the only role that can migrate (ops migrate)
	RoleWorker   = "worker"   // worker run
	RoleOperator = "operator" // enqueue, ops (requeue, budget, reconcile …), worker pause/resume
	RoleReader   = "reader"   // ops status, report, export, plan; enqueue status
)

// RoleKinds lists the kinds in the order RolesSQL creates them.
var RoleKinds = []string{RoleMigrator, RoleWorker, RoleOperator, RoleReader}

// DefaultRolePrefix names the roles ivsbatch_migrator, ivsbatch_worker …
const DefaultRolePrefix = "ivsbatch_"

var rolePrefixRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

// RolesSQL returns the SQL that makes the four roles prefix+kind in the
// current database, run by its owner or a superuser. It is idempotent. Per
// role, it:
//   - creates the role (NOLOGIN) if missing, and marks it in this database
//     (ALTER ROLE … IN DATABASE … SET ivsbatch.role = kind), which is how
//     the schema's ivsbatch_apply_grants() finds it;
//   - lets it connect; the migrator alone may create in schema public
//     (PUBLIC may not);
//   - hands every table, sequence and function of schema public to the
//     migrator, which owns the schema from then on;
//   - grants the application roles what migration 00012's role_grants
//     lists per table (if the database is migrated that far; ops migrate
//     grants it otherwise).
func RolesSQL(prefix string) (string, error) {
	if !rolePrefixRE.MatchString(prefix) {
		return "", fmt.Errorf("role prefix %q: want lower-case letters, digits and _, starting with a letter", prefix)
	}
	var b strings.Builder
	b.WriteString("-- ivsbatch roles (ops roles): run as the database's owner or a superuser; idempotent.\n")
	b.WriteString("-- The per-table grants are the schema's (migration 00012 and later):\n")
	b.WriteString("--   SELECT role_kind, table_name, privileges FROM role_grants ORDER BY 1, 2;\n")
	b.WriteString("DO $roles$\nDECLARE\n    o record;\n    migrator name := '" + prefix + RoleMigrator + "';\nBEGIN\n")
	for _, k := range RoleKinds {
		r := prefix + k
		fmt.Fprintf(&b, "    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN\n        CREATE ROLE %s NOLOGIN;\n    END IF;\n", r, r)
		fmt.Fprintf(&b, "    EXECUTE format('ALTER ROLE %s IN DATABASE %%I SET ivsbatch.role = %%L', current_database(), '%s');\n", r, k)
		fmt.Fprintf(&b, "    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %%I TO %s', current_database());\n", r)
	}
	fmt.Fprintf(&b, `    REVOKE CREATE ON SCHEMA public FROM PUBLIC;
    GRANT USAGE, CREATE ON SCHEMA public TO %[1]smigrator;
    GRANT USAGE ON SCHEMA public TO %[1]sworker, %[1]soperator, %[1]sreader;
    FOR o IN SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
               AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i', 'e'))
    LOOP
        EXECUTE format('ALTER TABLE %%I OWNER TO %%I', o.relname, migrator);
    END LOOP;
    FOR o IN SELECT p.oid::regprocedure AS f FROM pg_proc p
             WHERE p.pronamespace = 'public'::regnamespace
               AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER ROUTINE %%s OWNER TO %%I', o.f, migrator);
    END LOOP;
    IF to_regproc('ivsbatch_apply_grants') IS NOT NULL THEN
        PERFORM ivsbatch_apply_grants();
    END IF;
END
$roles$;
`, prefix)
	return b.String(), nil
}

// ApplyRoles runs RolesSQL(prefix) on the database at url.
func ApplyRoles(ctx context.Context, url, prefix string) error {
	sql, err := RolesSQL(prefix)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("store: connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("store: make roles: %w", err)
	}
	return nil
}

// RoleGrant is one row of role_grants: what a role kind may do on a table.
type RoleGrant struct {
	Kind, Table, Privileges string
}

// RoleGrants lists role_grants by kind and table.
func (s *Store) RoleGrants(ctx context.Context) ([]RoleGrant, error) {
	rows, err := s.pool.Query(ctx, `SELECT role_kind, table_name, privileges FROM role_grants ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("store: role grants: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (RoleGrant, error) {
		var g RoleGrant
		err := r.Scan(&g.Kind, &g.Table, &g.Privileges)
		return g, err
	})
}
