package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: RFC 9106's second recommended option (64 MiB,
// 3 passes), with 1 lane as the server has few CPUs; about 70 ms a hash.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// MinPasswordLength is the shortest password accepted (NIST SP 800-63B).
const MinPasswordLength = 12

// MaxPasswordLength bounds what is hashed: a megabyte "password" would be
// hashed all the same, at the server's cost.
const MaxPasswordLength = 1024

// ErrBadPassword is a password that does not match its hash.
var ErrBadPassword = errors.New("wrong password")

// CheckNewPassword refuses a password too short or too long to set.
func CheckNewPassword(p string) error {
	switch {
	case len([]rune(p)) < MinPasswordLength:
		return fmt.Errorf("password: want at least %d characters", MinPasswordLength)
	case len(p) > MaxPasswordLength:
		return fmt.Errorf("password: want at most %d bytes", MaxPasswordLength)
	}
	return nil
}

// HashPassword returns p's argon2id hash in the PHC string form
// ($argon2id$v=19$m=65536,t=3,p=1$salt$hash), which records its parameters
// so that they can be raised later without breaking stored hashes.
func HashPassword(p string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(p), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPassword checks p against a hash made by HashPassword (with any
// parameters), in time independent of where they differ. ErrBadPassword
// when it does not match.
func VerifyPassword(hash, p string) error {
	if len(p) > MaxPasswordLength {
		return ErrBadPassword
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return errors.New("password hash: not an argon2id PHC string")
	}
	var version int
	var memory, passes uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return errors.New("password hash: unknown argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &passes, &threads); err != nil ||
		memory == 0 || memory > 1<<20 || passes == 0 || passes > 16 || threads == 0 {
		return errors.New("password hash: bad argon2 parameters")
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return errors.New("password hash: bad salt")
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return errors.New("password hash: bad key")
	}
	got := argon2.IDKey([]byte(p), salt, passes, memory, threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrBadPassword
	}
	return nil
}

// dummyHash is verified against when a username does not exist, so that a
// login takes as long either way and does not tell which usernames exist.
var dummyHash, _ = HashPassword("not a password of anyone")

// VerifyNobody spends the time of one VerifyPassword (see dummyHash).
func VerifyNobody(p string) { _ = VerifyPassword(dummyHash, p) }
