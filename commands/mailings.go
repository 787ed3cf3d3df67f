package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

// ClientDirectory tells who owns live clients, from the read model.
type ClientDirectory interface {
	ClientOwners(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error)
}

// maxStoreLookups bounds how many clients missing from the read model (a
// moment of projection lag) are looked up in the event store one by one;
// beyond it they are reported as unknown, so a list of made-up ids costs
// one query, not thousands.
const maxStoreLookups = 200

// MailingHandler handles CreateMailing, UpdateMailing, DeleteMailing and
// ToggleMailing.
type MailingHandler struct {
	store   EventStore
	clients ClientDirectory
	now     func() time.Time
}

// NewMailingHandler returns the handler; now may be nil (time.Now).
func NewMailingHandler(store EventStore, clients ClientDirectory, now func() time.Time) (*MailingHandler, error) {
	if store == nil || clients == nil {
		return nil, errors.New("commands: mailing handler needs a store and a client directory")
	}
	if now == nil {
		now = time.Now
	}
	return &MailingHandler{store: store, clients: clients, now: now}, nil
}

func mailingStream(id uuid.UUID) domain.Stream {
	return domain.Stream{Type: domain.MailingStreamType, ID: id}
}

// CreateMailing sets up a mailing of the owner's message to the owner's
// clients. IsActive nil means active.
type CreateMailing struct {
	Owner    uuid.UUID
	Fields   domain.MailingFields
	IsActive *bool
}

// UpdateMailing changes a mailing's setting; nil fields keep their value.
// IsActive, when set, enables or disables it in the same command.
type UpdateMailing struct {
	ID        uuid.UUID
	MessageID *uuid.UUID
	ClientIDs *[]uuid.UUID
	// AllClients, when set, switches between sending to every client
	// (true) and to ClientIDs (false). Naming clients without it switches
	// to them; setting it true without naming clients drops the list.
	AllClients  *bool
	StartAt     *time.Time
	EndAt       *time.Time
	Periodicity *domain.Periodicity
	Timezone    *string
	IsActive    *bool
	IfMatch     *int64
	Authorize   Authorizer
}

// DeleteMailing removes a mailing; its runs keep their history.
type DeleteMailing struct {
	ID        uuid.UUID
	IfMatch   *int64
	Authorize Authorizer
}

// ToggleMailing enables (Enable) or disables a mailing.
type ToggleMailing struct {
	ID        uuid.UUID
	Enable    bool
	IfMatch   *int64
	Authorize Authorizer
}

// Create handles CreateMailing.
func (h *MailingHandler) Create(ctx context.Context, meta domain.Metadata, cmd CreateMailing) (Outcome[*domain.Mailing], error) {
	id := uuid.Must(uuid.NewV7())
	active := cmd.IsActive == nil || *cmd.IsActive
	m, err := domain.NewMailing(id, cmd.Owner, cmd.Fields, active)
	if err != nil {
		return Outcome[*domain.Mailing]{}, err
	}
	if err := h.checkRefs(ctx, cmd.Owner, &cmd.Fields.MessageID, m.ClientIDs()); err != nil {
		return Outcome[*domain.Mailing]{}, err
	}
	res, err := h.store.Commit(ctx, eventstore.Commit{Appends: []eventstore.StreamAppend{{Stream: mailingStream(id),
		Expected: eventstore.NoStream, Events: newEvents(withCommand(meta, "CreateMailing"), m.Changes())}}})
	if err != nil {
		return Outcome[*domain.Mailing]{}, err
	}
	now := h.now().UTC()
	return Outcome[*domain.Mailing]{State: m, CreatedAt: now, UpdatedAt: now, Result: res}, nil
}

// Update handles UpdateMailing. Only a message or clients that the change
// brings in are checked against the owner.
func (h *MailingHandler) Update(ctx context.Context, meta domain.Metadata, cmd UpdateMailing) (Outcome[*domain.Mailing], error) {
	return h.change(ctx, withCommand(meta, "UpdateMailing"), cmd.ID, cmd.IfMatch, cmd.Authorize, func(m *domain.Mailing) error {
		f := m.Fields()
		var checkMessage *uuid.UUID
		var newClients []uuid.UUID
		if cmd.MessageID != nil && *cmd.MessageID != f.MessageID {
			f.MessageID, checkMessage = *cmd.MessageID, cmd.MessageID
		}
		if cmd.ClientIDs != nil {
			for _, id := range *cmd.ClientIDs {
				if !slices.Contains(f.ClientIDs, id) {
					newClients = append(newClients, id)
				}
			}
			f.ClientIDs = *cmd.ClientIDs
			if cmd.AllClients == nil {
				f.AllClients = false
			}
		}
		if cmd.AllClients != nil {
			f.AllClients = *cmd.AllClients
			if f.AllClients && cmd.ClientIDs == nil {
				f.ClientIDs = nil
			}
		}
		if cmd.StartAt != nil {
			f.StartAt = *cmd.StartAt
		}
		if cmd.EndAt != nil {
			f.EndAt = *cmd.EndAt
		}
		if cmd.Periodicity != nil {
			f.Periodicity = *cmd.Periodicity
		}
		if cmd.Timezone != nil {
			f.Timezone = *cmd.Timezone
		}
		if err := m.Update(f); err != nil {
			return err
		}
		if err := h.checkRefs(ctx, m.Owner(), checkMessage, newClients); err != nil {
			return err
		}
		switch {
		case cmd.IsActive == nil:
			return nil
		case *cmd.IsActive:
			return m.Enable()
		default:
			return m.Disable()
		}
	})
}

// Delete handles DeleteMailing.
func (h *MailingHandler) Delete(ctx context.Context, meta domain.Metadata, cmd DeleteMailing) (eventstore.Result, error) {
	out, err := h.change(ctx, withCommand(meta, "DeleteMailing"), cmd.ID, cmd.IfMatch, cmd.Authorize,
		func(m *domain.Mailing) error { return m.Delete() })
	return out.Result, err
}

// Toggle handles ToggleMailing; toggling to the current state changes
// nothing and succeeds.
func (h *MailingHandler) Toggle(ctx context.Context, meta domain.Metadata, cmd ToggleMailing) (Outcome[*domain.Mailing], error) {
	name := "DisableMailing"
	if cmd.Enable {
		name = "EnableMailing"
	}
	return h.change(ctx, withCommand(meta, name), cmd.ID, cmd.IfMatch, cmd.Authorize, func(m *domain.Mailing) error {
		if cmd.Enable {
			return m.Enable()
		}
		return m.Disable()
	})
}

// Load returns a live mailing the caller may see through auth.
func (h *MailingHandler) Load(ctx context.Context, meta domain.Metadata, id uuid.UUID, auth Authorizer) (Outcome[*domain.Mailing], error) {
	l, m, err := h.load(ctx, meta, id, nil, auth)
	if err != nil {
		return Outcome[*domain.Mailing]{}, err
	}
	return Outcome[*domain.Mailing]{State: m, CreatedAt: l.createdAt, UpdatedAt: l.updatedAt,
		Result: eventstore.Result{LastPosition: l.position, Version: m.Version()}}, nil
}

func (h *MailingHandler) change(ctx context.Context, meta domain.Metadata, id uuid.UUID, ifMatch *int64, auth Authorizer,
	decide func(*domain.Mailing) error) (Outcome[*domain.Mailing], error) {
	var out Outcome[*domain.Mailing]
	_, err := retry(false, func() (eventstore.Result, error) {
		l, m, err := h.load(ctx, meta, id, ifMatch, auth)
		if err != nil {
			return eventstore.Result{}, err
		}
		if err := decide(m); err != nil {
			return eventstore.Result{}, err
		}
		out = Outcome[*domain.Mailing]{State: m, CreatedAt: l.createdAt, UpdatedAt: l.updatedAt,
			Result: eventstore.Result{LastPosition: l.position, Version: m.Version()}}
		if len(m.Changes()) == 0 {
			return out.Result, nil
		}
		res, err := h.store.Commit(ctx, eventstore.Commit{Appends: []eventstore.StreamAppend{{Stream: mailingStream(id),
			Expected: m.Version(), Events: newEvents(meta, m.Changes())}}})
		if err != nil {
			return res, err
		}
		out.Result, out.UpdatedAt = res, h.now().UTC()
		return res, nil
	})
	return out, err
}

func (h *MailingHandler) load(ctx context.Context, meta domain.Metadata, id uuid.UUID, ifMatch *int64, auth Authorizer) (loaded, *domain.Mailing, error) {
	l, err := loadResource(ctx, h.store, id)
	if err != nil {
		return l, nil, err
	}
	m := domain.LoadMailing(l.history)
	if !m.Exists() || m.IsDeleted() {
		return l, nil, domain.NotFound("mailing")
	}
	if err := auth.check(meta, m.Owner()); err != nil {
		return l, nil, err
	}
	return l, m, checkIfMatch(ifMatch, m.Version())
}

// checkRefs demands that the message (when given) and every client exist,
// are not deleted and belong to owner; the error names the bad ids under
// the fields message_id and client_ids. Someone else's ids are reported
// exactly like ids that do not exist.
func (h *MailingHandler) checkRefs(ctx context.Context, owner uuid.UUID, messageID *uuid.UUID, clientIDs []uuid.UUID) error {
	var v domain.ValidationError
	if messageID != nil {
		l, err := loadResource(ctx, h.store, *messageID)
		if err != nil {
			return err
		}
		if msg := domain.LoadMessage(l.history); !msg.Exists() || msg.IsDeleted() || msg.Owner() != owner {
			v.Fields = append(v.Fields, domain.FieldError{Field: "message_id", Message: "no such message: " + messageID.String()})
		}
	}
	if len(clientIDs) > 0 {
		owners, err := h.clients.ClientOwners(ctx, clientIDs)
		if err != nil {
			return err
		}
		var bad []uuid.UUID
		lookups := 0
		for _, id := range clientIDs {
			o, ok := owners[id]
			if !ok && lookups < maxStoreLookups {
				// Not projected yet, or deleted, or made up: the store knows.
				lookups++
				l, err := loadResource(ctx, h.store, id)
				if err != nil {
					return err
				}
				if c := domain.LoadClient(l.history); c.Exists() && !c.IsDeleted() {
					o, ok = c.Owner(), true
				}
			}
			if !ok || o != owner {
				bad = append(bad, id)
			}
		}
		if len(bad) > 0 {
			v.Fields = append(v.Fields, domain.FieldError{Field: "client_ids", Message: fmt.Sprintf("no such clients: %s", joinIDs(bad, 10))})
		}
	}
	if len(v.Fields) > 0 {
		return &v
	}
	return nil
}
