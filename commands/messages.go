package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/compose"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

// MessageMailings finds the mailings that still need a message.
type MessageMailings interface {
	MailingsUsingMessage(ctx context.Context, messageID uuid.UUID) ([]uuid.UUID, error)
}

// MessageHandler handles CreateMessage, UpdateMessage and DeleteMessage.
type MessageHandler struct {
	store    EventStore
	mailings MessageMailings
	now      func() time.Time
}

// NewMessageHandler returns the handler; now may be nil (time.Now).
func NewMessageHandler(store EventStore, mailings MessageMailings, now func() time.Time) (*MessageHandler, error) {
	if store == nil || mailings == nil {
		return nil, errors.New("commands: message handler needs a store and a mailings lookup")
	}
	if now == nil {
		now = time.Now
	}
	return &MessageHandler{store: store, mailings: mailings, now: now}, nil
}

func messageStream(id uuid.UUID) domain.Stream {
	return domain.Stream{Type: domain.MessageStreamType, ID: id}
}

// CreateMessage adds a message to the owner's messages.
type CreateMessage struct {
	Owner  uuid.UUID
	Fields domain.MessageFields
}

// UpdateMessage changes a message; nil fields keep their value.
type UpdateMessage struct {
	ID        uuid.UUID
	Subject   *string
	Body      *string
	BodyHTML  *string
	IfMatch   *int64
	Authorize Authorizer
}

// DeleteMessage removes a message no live mailing needs.
type DeleteMessage struct {
	ID        uuid.UUID
	IfMatch   *int64
	Authorize Authorizer
}

// Create handles CreateMessage.
func (h *MessageHandler) Create(ctx context.Context, meta domain.Metadata, cmd CreateMessage) (Outcome[*domain.Message], error) {
	id := uuid.Must(uuid.NewV7())
	f, checked := compose.Prepare(cmd.Fields)
	m, err := domain.NewMessage(id, cmd.Owner, f)
	if err = joinInvalid(err, checked); err != nil {
		return Outcome[*domain.Message]{}, err
	}
	res, err := h.store.Commit(ctx, eventstore.Commit{Appends: []eventstore.StreamAppend{{Stream: messageStream(id),
		Expected: eventstore.NoStream, Events: newEvents(withCommand(meta, "CreateMessage"), m.Changes())}}})
	if err != nil {
		return Outcome[*domain.Message]{}, err
	}
	now := h.now().UTC()
	return Outcome[*domain.Message]{State: m, CreatedAt: now, UpdatedAt: now, Result: res}, nil
}

// Update handles UpdateMessage.
func (h *MessageHandler) Update(ctx context.Context, meta domain.Metadata, cmd UpdateMessage) (Outcome[*domain.Message], error) {
	var out Outcome[*domain.Message]
	_, err := retry(false, func() (eventstore.Result, error) {
		l, m, err := h.load(ctx, meta, cmd.ID, cmd.IfMatch, cmd.Authorize)
		if err != nil {
			return eventstore.Result{}, err
		}
		f := m.Fields()
		if cmd.Subject != nil {
			f.Subject = *cmd.Subject
		}
		if cmd.Body != nil {
			f.Body = *cmd.Body
		}
		if cmd.BodyHTML != nil {
			f.BodyHTML = *cmd.BodyHTML
		}
		f, checked := compose.Prepare(f)
		if err := joinInvalid(m.Update(f), checked); err != nil {
			return eventstore.Result{}, err
		}
		out = Outcome[*domain.Message]{State: m, CreatedAt: l.createdAt, UpdatedAt: l.updatedAt,
			Result: eventstore.Result{LastPosition: l.position, Version: m.Version()}}
		if len(m.Changes()) == 0 {
			return out.Result, nil
		}
		res, err := h.store.Commit(ctx, eventstore.Commit{Appends: []eventstore.StreamAppend{{Stream: messageStream(cmd.ID),
			Expected: m.Version(), Events: newEvents(withCommand(meta, "UpdateMessage"), m.Changes())}}})
		if err != nil {
			return res, err
		}
		out.Result, out.UpdatedAt = res, h.now().UTC()
		return res, nil
	})
	return out, err
}

// Delete handles DeleteMessage. "Used by a mailing that is not completed"
// is read from the mailings read model: a mailing created in the instant
// before and not yet projected is missed (a race of milliseconds; such a
// mailing's runs then find the message gone and record failures, they do
// not crash).
func (h *MessageHandler) Delete(ctx context.Context, meta domain.Metadata, cmd DeleteMessage) (eventstore.Result, error) {
	return retry(false, func() (eventstore.Result, error) {
		_, m, err := h.load(ctx, meta, cmd.ID, cmd.IfMatch, cmd.Authorize)
		if err != nil {
			return eventstore.Result{}, err
		}
		used, err := h.mailings.MailingsUsingMessage(ctx, cmd.ID)
		if err != nil {
			return eventstore.Result{}, err
		}
		if len(used) > 0 {
			return eventstore.Result{}, fmt.Errorf("%w: the message is used by mailings that are not completed: %s",
				domain.ErrConflict, joinIDs(used, 10))
		}
		if err := m.Delete(); err != nil {
			return eventstore.Result{}, err
		}
		return h.store.Commit(ctx, eventstore.Commit{Appends: []eventstore.StreamAppend{{Stream: messageStream(cmd.ID),
			Expected: m.Version(), Events: newEvents(withCommand(meta, "DeleteMessage"), m.Changes())}}})
	})
}

func (h *MessageHandler) load(ctx context.Context, meta domain.Metadata, id uuid.UUID, ifMatch *int64, auth Authorizer) (loaded, *domain.Message, error) {
	l, err := loadResource(ctx, h.store, id)
	if err != nil {
		return l, nil, err
	}
	m := domain.LoadMessage(l.history)
	if !m.Exists() || m.IsDeleted() {
		return l, nil, domain.NotFound("message")
	}
	if err := auth.check(meta, m.Owner()); err != nil {
		return l, nil, err
	}
	return l, m, checkIfMatch(ifMatch, m.Version())
}

// joinInvalid is the domain's verdict on a message's fields and the
// template check's in one validation error, so a form shows both at once;
// any other error of the domain comes first.
func joinInvalid(decided, checked error) error {
	var d, c *domain.ValidationError
	switch {
	case checked == nil:
		return decided
	case decided == nil:
		return checked
	case errors.As(decided, &d) && errors.As(checked, &c):
		return &domain.ValidationError{Fields: append(append([]domain.FieldError(nil), d.Fields...), c.Fields...)}
	}
	return decided
}

// joinIDs lists up to n ids, saying how many more there are.
func joinIDs(ids []uuid.UUID, n int) string {
	parts := make([]string, 0, min(len(ids), n)+1)
	for i, id := range ids {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(ids)-n))
			break
		}
		parts = append(parts, id.String())
	}
	return strings.Join(parts, ", ")
}
