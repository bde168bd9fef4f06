package auth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/auth"
)

func TestPassword(t *testing.T) {
	t.Parallel()
	h, err := auth.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=1$") {
		t.Fatalf("hash %q: want a PHC argon2id string with the stated parameters", h)
	}
	if err := auth.VerifyPassword(h, "correct horse battery"); err != nil {
		t.Fatalf("the right password: %v", err)
	}
	if err := auth.VerifyPassword(h, "correct horse batterY"); !errors.Is(err, auth.ErrBadPassword) {
		t.Fatalf("a wrong password: %v, want ErrBadPassword", err)
	}
	h2, _ := auth.HashPassword("correct horse battery")
	if h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=99999999,t=1,p=1$AA$AA"} {
		if err := auth.VerifyPassword(bad, "x"); err == nil || errors.Is(err, auth.ErrBadPassword) {
			t.Errorf("VerifyPassword(%q): %v, want a malformed-hash error", bad, err)
		}
	}
	if err := auth.CheckNewPassword("short"); err == nil {
		t.Error("a 5-character password accepted")
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		have, need auth.Role
		ok         bool
	}{
		{auth.Viewer, auth.Viewer, true}, {auth.Viewer, auth.Operator, false}, {auth.Operator, auth.Viewer, true},
		{auth.Operator, auth.Admin, false}, {auth.Admin, auth.Operator, true}, {"", auth.Viewer, false},
		{"root", auth.Viewer, false},
	}
	for _, c := range cases {
		if got := c.have.Allows(c.need); got != c.ok {
			t.Errorf("%q.Allows(%q) = %v, want %v", c.have, c.need, got, c.ok)
		}
	}
	if _, err := auth.ParseRole("root"); err == nil {
		t.Error("ParseRole(root) accepted")
	}
}

func TestToken(t *testing.T) {
	t.Parallel()
	a, b := auth.NewToken(), auth.NewToken()
	if a == b || !auth.LooksLikeToken(a) || auth.LooksLikeToken(a[:20]) || auth.LooksLikeToken("Bearer "+a) {
		t.Fatalf("tokens %q %q", a, b)
	}
	if string(auth.HashSecret(a)) == string(auth.HashSecret(b)) || len(auth.HashSecret(a)) != 32 {
		t.Fatal("token hashes collide or are not SHA-256")
	}
}
