package commands_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
)

// A bounce is counted once per attempt, however often it is recorded; a
// token is checked against the owner the client's history names; lifting
// follows the authorizer.
func TestOptOutsAgainstTheStore(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	signer, err := domain.NewUnsubscribeSigner(strings.Repeat("s", 32))
	if err != nil {
		t.Fatal(err)
	}
	h, err := commands.NewOptOuts(e.store, signer, domain.BounceLimits{NoMailbox: 1, Other: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	meta := domain.Metadata{ActorID: e.owner}
	out, err := e.clients.Create(e.ctx, meta, commands.CreateClient{Owner: e.owner, Fields: domain.ClientFields{Email: "b@example.org", FullName: "B"}})
	if err != nil {
		t.Fatal(err)
	}
	id := out.State.ID()
	load := func() *domain.Client {
		t.Helper()
		recs, err := e.store.Load(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		evs := make([]domain.Event, len(recs))
		for i, r := range recs {
			evs[i] = r.Event
		}
		return domain.LoadClient(evs)
	}
	attempt := uuid.New()
	for range 3 { // the same attempt's bounce, recorded three times
		if _, err := h.RecordBounce(e.ctx, meta, commands.RecordBounce{ClientID: id, AttemptID: attempt, Reply: "554 5.7.1 no"}); err != nil {
			t.Fatal(err)
		}
	}
	if c := load(); c.IsSuppressed() {
		t.Fatal("one bounce recorded thrice suppressed the address")
	}
	if _, err := h.RecordBounce(e.ctx, meta, commands.RecordBounce{ClientID: id, AttemptID: uuid.New(), Reply: "554 5.7.1 no"}); err != nil {
		t.Fatal(err)
	}
	if c := load(); !c.IsSuppressed() || c.SkipReason() != domain.SkipSuppressed {
		t.Fatal("a second bounce did not suppress")
	}
	stranger := domain.Metadata{ActorID: uuid.New()}
	if _, err := h.Unsuppress(e.ctx, stranger, commands.UnsuppressClient{ID: id}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a stranger lifted it: %v", err)
	}
	if _, err := h.Unsuppress(e.ctx, meta, commands.UnsuppressClient{ID: id}); err != nil || load().IsSuppressed() {
		t.Fatalf("unsuppress: %v", err)
	}

	if _, err := h.Unsubscribe(e.ctx, domain.Metadata{}, commands.UnsubscribeClient{Token: signer.Token(uuid.New(), id)}); !errors.Is(err, commands.ErrUnknownUnsubscribe) {
		t.Fatalf("another owner's token: %v", err)
	}
	if !load().UnsubscribedAt().IsZero() {
		t.Fatal("a refused token unsubscribed")
	}
	tok := signer.Token(e.owner, id)
	if c, err := h.CheckToken(e.ctx, tok); err != nil || c.ID() != id || !c.UnsubscribedAt().IsZero() {
		t.Fatalf("check: %v", err)
	}
	for range 2 {
		if _, err := h.Unsubscribe(e.ctx, domain.Metadata{}, commands.UnsubscribeClient{Token: tok}); err != nil {
			t.Fatal(err)
		}
	}
	recs, _ := e.store.Load(e.ctx, id)
	n := 0
	for _, r := range recs {
		if _, ok := r.Event.(domain.ClientUnsubscribed); ok {
			n++
		}
	}
	if n != 1 || load().SkipReason() != domain.SkipUnsubscribed {
		t.Fatalf("%d unsubscriptions recorded", n)
	}
}
