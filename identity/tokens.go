package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// Tokens (sessions, verification, reset) are 256 random bits, base64url
// without padding (43 characters); only their SHA-256 is stored.
const tokenBytes = 32

func newToken() (token string, hash []byte) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on Linux
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// tokenKey is the claim key of a mailed token: its SHA-256 in hex.
func tokenKey(token string) string { return hex.EncodeToString(hashToken(token)) }

// wellFormedToken rejects what newToken cannot have made, before any lookup.
func wellFormedToken(token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}
