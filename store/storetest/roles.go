package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/store"
)

// Roles are a test database's least-privilege roles (store.RolesSQL, under
// a prefix of their own) and, per kind, the URL of a login role belonging
// to it: what a deployment's people and services connect as.
type Roles struct {
	Prefix string
	URL    map[string]string // by kind (store.RoleWorker …): a login in that role
	Login  map[string]string // by kind: the login role's name (the audit log's db_user)
}

// MakeRoles makes the roles in the database at adminURL (a superuser's URL,
// as testenv gives) with a prefix unique to the test, and a login role in
// each. When the test ends, everything they own in that database is
// dropped, then the roles.
func MakeRoles(t testing.TB, adminURL string) Roles {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	suffix := make([]byte, 5)
	_, _ = rand.Read(suffix)
	r := Roles{Prefix: "t" + hex.EncodeToString(suffix) + "_", URL: map[string]string{}, Login: map[string]string{}}
	var made []string
	t.Cleanup(func() { dropRoles(t, adminURL, made) })
	for _, k := range store.RoleKinds {
		made = append(made, r.Prefix+k)
	}
	if err := store.ApplyRoles(ctx, adminURL, r.Prefix); err != nil {
		t.Fatalf("storetest: make roles: %v", err)
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	defer conn.Close(ctx)
	for _, k := range store.RoleKinds {
		login := r.Prefix + k + "_login"
		if _, err := conn.Exec(ctx, "CREATE ROLE "+login+" LOGIN IN ROLE "+r.Prefix+k); err != nil {
			t.Fatalf("storetest: login role: %v", err)
		}
		made = append(made, login)
		u, err := url.Parse(adminURL)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.User(login)
		r.URL[k], r.Login[k] = u.String(), login
	}
	return r
}

// dropRoles ends the roles' sessions, drops what they own in the database
// and their privileges, then the roles.
func dropRoles(t testing.TB, adminURL string, roles []string) {
	if len(roles) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Errorf("storetest: drop roles: %v", err)
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY ($1)`, roles)
	for _, r := range roles {
		id := pgx.Identifier{r}.Sanitize()
		if _, err := conn.Exec(ctx, "DROP OWNED BY "+id); err != nil {
			t.Errorf("storetest: drop owned by %s: %v", r, err)
		}
	}
	for i := len(roles) - 1; i >= 0; i-- {
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{roles[i]}.Sanitize()); err != nil {
			t.Errorf("storetest: drop role %s: %v", roles[i], err)
		}
	}
}
