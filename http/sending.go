package http

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/projections"
)

// Dispatcher starts a run of a mailing now (commands.Runs).
type Dispatcher interface {
	Dispatch(ctx context.Context, cmd commands.DispatchMailing, meta domain.Metadata) (eventstore.Result, uuid.UUID, error)
}

// MailingLookup finds a mailing's owner in the mailings read model.
type MailingLookup interface {
	GetMailing(ctx context.Context, s projections.OwnerScope, id uuid.UUID) (projections.MailingRow, error)
}

// AttemptLister lists a mailing's delivery attempts.
type AttemptLister interface {
	ListAttempts(ctx context.Context, s projections.OwnerScope, mailingID uuid.UUID, page projections.AttemptPage) ([]projections.AttemptRow, int64, error)
}

// Sending serves POST /mailings/{id}/dispatch and GET /mailings/{id}/attempts.
type Sending struct {
	runs     Dispatcher
	mailings MailingLookup
	attempts AttemptLister
}

// NewSending returns the area.
func NewSending(runs Dispatcher, mailings MailingLookup, attempts AttemptLister) (*Sending, error) {
	if runs == nil || mailings == nil || attempts == nil {
		return nil, errors.New("http: sending needs the runs handler, the mailings lookup and the attempts queries")
	}
	return &Sending{runs: runs, mailings: mailings, attempts: attempts}, nil
}
