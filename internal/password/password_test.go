package password

import (
	"errors"
	"strings"
	"testing"
)

func TestHashAndCheck(t *testing.T) {
	h, err := New(MinCost)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 128) // 256 bytes: beyond bcrypt's 72
	hash, err := h.Hash(long)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(hash, "é") || h.Check(hash, long) != nil {
		t.Fatal("long password does not check")
	}
	// Only the last character differs: with a plain 72-byte cut this would match.
	if err := h.Check(hash, strings.Repeat("é", 127)+"e"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Check = %v, want ErrMismatch", err)
	}
	if err := h.Check("not a hash", "x"); err == nil || errors.Is(err, ErrMismatch) {
		t.Fatalf("malformed hash: %v", err)
	}
	if _, err := New(3); err == nil {
		t.Fatal("cost 3 accepted")
	}
	h.CheckNothing("whatever")
}
