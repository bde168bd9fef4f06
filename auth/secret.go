package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// TokenPrefix starts every API token, so that a leaked one is recognised
// by secret scanners and in logs.
const TokenPrefix = "ivsb_"

// NewSecret returns 256 random bits, base64url-encoded (43 characters).
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewToken returns a new API token: TokenPrefix and a secret.
func NewToken() string { return TokenPrefix + NewSecret() }

// LooksLikeToken reports whether s has an API token's form (checked before
// a database lookup, so junk costs nothing).
func LooksLikeToken(s string) bool {
	return strings.HasPrefix(s, TokenPrefix) && len(s) == len(TokenPrefix)+43
}

// HashSecret is how a token or session id is stored and looked up. A
// plain SHA-256 suffices: the secret has 256 random bits, so no
// dictionary helps, and the lookup must be fast and indexable.
func HashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
