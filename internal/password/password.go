package password

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// DefaultCost is the bcrypt cost used unless configured (BCRYPT_COST): tens
// of milliseconds of one core per hash, which bounds both brute force and
// the login rate one API process sustains.
const DefaultCost = 10

// MinCost is the cheapest cost bcrypt allows, for tests.
const MinCost = bcrypt.MinCost

// ErrMismatch means the password does not match the hash.
var ErrMismatch = errors.New("password: mismatch")

// Hasher hashes passwords at one bcrypt cost.
type Hasher struct {
	cost  int
	dummy []byte
}

// New returns a Hasher using cost (bcrypt.MinCost..MaxCost).
func New(cost int) (*Hasher, error) {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("password: bcrypt cost %d outside %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	h := &Hasher{cost: cost}
	dummy, err := bcrypt.GenerateFromPassword(prehash("herald-dummy-password"), cost)
	if err != nil {
		return nil, fmt.Errorf("password: %w", err)
	}
	h.dummy = dummy
	return h, nil
}

// Cost is the bcrypt cost in use.
func (h *Hasher) Cost() int { return h.cost }

// Hash returns the bcrypt hash of password.
func (h *Hasher) Hash(password string) (string, error) {
	b, err := bcrypt.GenerateFromPassword(prehash(password), h.cost)
	if err != nil {
		return "", fmt.Errorf("password: hash: %w", err)
	}
	return string(b), nil
}

// Check compares password with hash; ErrMismatch when they differ.
func (h *Hasher) Check(hash, password string) error {
	err := bcrypt.CompareHashAndPassword([]byte(hash), prehash(password))
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		return ErrMismatch
	}
	if err != nil {
		return fmt.Errorf("password: check: %w", err)
	}
	return nil
}

// CheckNothing spends the time of one Check against a dummy hash, so a login
// for an unknown email takes as long as one with a wrong password and does
// not reveal which emails have accounts.
func (h *Hasher) CheckNothing(password string) {
	_ = bcrypt.CompareHashAndPassword(h.dummy, prehash(password))
}

// prehash lets passwords longer than bcrypt's 72-byte input limit (the API
// allows 128 characters, up to 512 bytes of UTF-8) count in full: bcrypt sees
// the base64 of their SHA-256 (44 bytes, no NUL).
func prehash(password string) []byte {
	sum := sha256.Sum256([]byte(password))
	out := make([]byte, base64.StdEncoding.EncodedLen(len(sum)))
	base64.StdEncoding.Encode(out, sum[:])
	return out
}

// Equal compares two secrets in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
