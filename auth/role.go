// Package auth holds what the server (cmd/server) needs to know who calls
// it: roles, password hashing (argon2id), and the random secrets of API
// tokens and sessions with the hashes they are stored as. It keeps no
// state and reads nothing: store/ holds the tokens, accounts and sessions,
// server/ checks them on each request.
package auth

import "fmt"

// Role is what a caller may do. Each role may do what the roles below it
// may. They map onto the database roles of a least-privilege deployment:
// a viewer's requests need only the reader role, an operator's and an
// admin's the operator role (admin adds managing the server's own tokens
// and accounts).
type Role string

// The roles, lowest first.
const (
	Viewer   Role = "viewer"   // reads: batches, status, plans, reports, exports, records, the review queue
	Operator Role = "operator" // and changes: submit, requeue, review decisions
	Admin    Role = "admin"    // and manages the server's tokens and accounts
)

// Roles lists the roles, lowest first.
var Roles = []Role{Viewer, Operator, Admin}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("role %q: want viewer, operator or admin", s)
}

func (r Role) rank() int {
	for i, x := range Roles {
		if x == r {
			return i + 1
		}
	}
	return 0
}

// Allows reports whether r may do what need may.
func (r Role) Allows(need Role) bool { return r.rank() > 0 && r.rank() >= need.rank() }

// DatabaseRole is the database role (issue 25's least-privilege roles)
// whose grants r's requests need.
func (r Role) DatabaseRole() string {
	if r == Viewer {
		return "reader"
	}
	return "operator"
}
