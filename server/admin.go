package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/ivsbatch/ivsbatch/auth"
	"github.com/ivsbatch/ivsbatch/store"
)

// CreateToken makes an API token for a system, stores its hash, audits it
// (by operator) and returns the token: the only time it is ever shown.
func CreateToken(ctx context.Context, st *store.Store, name string, role auth.Role, operator string) (string, store.APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", store.APIToken{}, fmt.Errorf("token: a name is required (what uses it)")
	}
	tok := auth.NewToken()
	t, err := st.CreateAPIToken(ctx, name, string(role), auth.HashSecret(tok), store.AuditEntry{Operator: operator,
		Command: "token-create", Args: map[string]any{"name": name, "role": role}})
	return tok, t, err
}

// RevokeToken revokes token id, audited.
func RevokeToken(ctx context.Context, st *store.Store, id int64, operator string) error {
	return st.RevokeAPIToken(ctx, id, store.AuditEntry{Operator: operator, Command: "token-revoke",
		Args: map[string]any{"token_id": id}})
}

// AddAccount creates an operator account with an argon2id hash of
// password, audited.
func AddAccount(ctx context.Context, st *store.Store, username, password string, role auth.Role, operator string) (store.OperatorAccount, error) {
	username = strings.TrimSpace(username)
	if username == "" || len(username) > 64 || strings.ContainsFunc(username, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return store.OperatorAccount{}, fmt.Errorf("account: username %q: want 1 to 64 characters without spaces or control characters", username)
	}
	if err := auth.CheckNewPassword(password); err != nil {
		return store.OperatorAccount{}, err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return store.OperatorAccount{}, err
	}
	return st.CreateOperatorAccount(ctx, username, hash, string(role), store.AuditEntry{Operator: operator,
		Command: "account-add", Args: map[string]any{"username": username, "role": role}})
}

// AccountChange is what UpdateAccount changes; zero fields stay.
type AccountChange struct {
	Password string
	Role     auth.Role
	Disable  *bool
}

// UpdateAccount changes an account's password, role or disabled state,
// ends its sessions, audited (never the password).
func UpdateAccount(ctx context.Context, st *store.Store, username string, c AccountChange, operator string) error {
	hash := ""
	if c.Password != "" {
		if err := auth.CheckNewPassword(c.Password); err != nil {
			return err
		}
		var err error
		if hash, err = auth.HashPassword(c.Password); err != nil {
			return err
		}
	}
	args := map[string]any{"username": username, "password_changed": c.Password != ""}
	if c.Role != "" {
		args["role"] = c.Role
	}
	if c.Disable != nil {
		args["disabled"] = *c.Disable
	}
	return st.UpdateOperatorAccount(ctx, username, hash, string(c.Role), c.Disable,
		store.AuditEntry{Operator: operator, Command: "account-update", Args: args})
}
