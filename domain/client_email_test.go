package domain

import (
	"testing"

	"github.com/google/uuid"
)

// Addresses mail cannot be sent to correctly are refused where every
// address enters: clients, imports and accounts.
func TestCheckEmailDomains(t *testing.T) {
	for _, c := range []struct {
		email string
		ok    bool
	}{
		{"a@example.com", true},
		{"a.b+tag@mail.example-host.co.uk", true},
		{"a@xn--bcher-kva.example", true},
		{"a@[127.0.0.1]", false},
		{"a@[IPv6:::1]", false},
		{"a@127.0.0.1", false},
		{"a@-example-.com", false},
		{"a@example-.com", false},
		{"a@ex_ample.com", false},
		{"a@localhost", false},
		{"a@bücher.example", false},
	} {
		msg := CheckEmail(c.email)
		if (msg == "") != c.ok {
			t.Errorf("CheckEmail(%q) = %q, want accepted=%v", c.email, msg, c.ok)
		}
		if err := ValidateEmail(c.email); (err == nil) != c.ok {
			t.Errorf("ValidateEmail(%q) = %v, want accepted=%v", c.email, err, c.ok)
		}
	}
	if _, err := NewClient(uuid.New(), uuid.New(), ClientFields{Email: "a@[127.0.0.1]", FullName: "A"}); err == nil {
		t.Error("a client with an address literal was created")
	}
}
