package domain

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestUnsubscribeToken(t *testing.T) {
	s, err := NewUnsubscribeSigner(strings.Repeat("k", 32))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewUnsubscribeSigner(strings.Repeat("j", 32))
	owner, client, stranger := uuid.New(), uuid.New(), uuid.New()
	tok := s.Token(owner, client)
	if len(tok) != 44 || strings.ContainsAny(tok, "+/=") {
		t.Fatalf("token %q is not 44 base64url characters", tok)
	}
	if strings.Contains(tok, owner.String()) || strings.Contains(tok, client.String()) {
		t.Fatalf("token %q spells an id", tok)
	}
	if got, err := s.Verify(tok, owner); err != nil || got != client {
		t.Fatalf("Verify = %v, %v; want %v", got, err, client)
	}
	// Another owner's token for this client, an altered byte, a forgery
	// with another secret, garbage: all refused.
	altered := []byte(tok)
	altered[30] ^= 1
	if altered[30] == '-' || altered[30] == '_' {
		altered[30] = 'A'
	}
	swapped := s.Token(owner, stranger)[:23] + tok[23:] // another client's id, this MAC
	for name, c := range map[string]struct {
		tok   string
		owner uuid.UUID
	}{
		"other owner": {tok, stranger},
		"altered":     {string(altered), owner},
		"forged":      {other.Token(owner, client), owner},
		"swapped id":  {swapped, owner},
		"garbage":     {"not-a-token", owner},
		"empty":       {"", owner},
		"too long":    {tok + "AA", owner},
	} {
		if _, err := s.Verify(c.tok, c.owner); !errors.Is(err, ErrBadUnsubscribeToken) {
			t.Errorf("%s: Verify err = %v, want ErrBadUnsubscribeToken", name, err)
		}
	}
	l := s.Links("https://h.example/", "mail.example", owner, client)
	if l.URL != "https://h.example/unsubscribe/"+tok || l.Mailto != "unsubscribe+"+tok+"@mail.example" {
		t.Fatalf("links %+v", l)
	}
	if _, err := NewUnsubscribeSigner("short"); err == nil {
		t.Fatal("short secret accepted")
	}
}

func TestBounceSuppression(t *testing.T) {
	owner := uuid.New()
	c, _ := NewClient(uuid.New(), owner, ClientFields{Email: "a@b.example", FullName: "A"})
	c = LoadClient(c.Changes())
	var limits BounceLimits
	for i := range 2 {
		if err := c.Bounce("550 5.7.1 rejected", limits, t0); err != nil || c.IsSuppressed() {
			t.Fatalf("bounce %d: err %v suppressed %v", i+1, err, c.IsSuppressed())
		}
	}
	_ = c.Bounce("451 4.7.1 later", limits, t0)
	if c.IsSuppressed() {
		t.Fatal("a 4xx counted as a bounce")
	}
	_ = c.Bounce("554 5.0.0 no", limits, t0)
	if !c.IsSuppressed() || c.SkipReason() != SkipSuppressed {
		t.Fatal("three permanent failures did not suppress")
	}
	if err := c.Unsuppress(t0); err != nil || c.IsSuppressed() {
		t.Fatalf("unsuppress: %v", err)
	}
	if err := c.Unsuppress(t0); !errors.Is(err, ErrNotSuppressed) {
		t.Fatalf("second unsuppress: %v", err)
	}
	_ = c.Bounce("550 5.1.1 <a@b.example>: no such user", limits, t0)
	if !c.IsSuppressed() || c.SuppressionReason() != "no such mailbox" {
		t.Fatalf("5.1.1 did not suppress at once: %q", c.SuppressionReason())
	}
	if err := c.Unsubscribe(t0); err != nil || c.SkipReason() != SkipUnsubscribed {
		t.Fatal("unsubscribe")
	}
	n := len(c.Changes())
	_ = c.Unsubscribe(t0)
	if len(c.Changes()) != n {
		t.Fatal("a second unsubscribe recorded again")
	}
	for reply, want := range map[string][2]bool{
		"550 5.1.10 null MX": {true, true}, "550 5.0.0 5.1.1 unknown": {true, true}, "550 5.7.1 see 5.1.1": {true, false}, "550-5.1.1 x": {true, true}, "553 5.1.6 moved": {true, true},
		"552 5.2.2 full": {true, false}, "250 ok": {false, false}, "dial tcp: refused": {false, false},
	} {
		if h, nm := IsHardBounce(reply); h != want[0] || nm != want[1] {
			t.Errorf("IsHardBounce(%q) = %v,%v", reply, h, nm)
		}
	}
}
