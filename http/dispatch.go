package http

import (
	"context"
	"errors"
	"net/http"

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

// DispatchAccepted is the 202 body of a dispatch.
type DispatchAccepted struct {
	RunID     uuid.UUID `json:"run_id"`
	MailingID uuid.UUID `json:"mailing_id"`
}

// dispatchMailing sends a mailing now to all its clients: the run is recorded
// (X-Event-Position) and queued for the senders; 202 because the sending
// happens after the answer. Owner only: staff, who may read the mailing,
// get 403; anyone else 404.
func (h *Sending) dispatchMailing(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "mailing")
	if err != nil {
		respondError(w, r, err)
		return
	}
	p := principal(r)
	res, runID, err := h.runs.Dispatch(r.Context(), commands.DispatchMailing{
		MailingID: id, Owner: p.UserID, Trigger: domain.TriggerManual}, resourceMeta(r))
	if errors.Is(err, domain.ErrNotFound) && isStaff(p) {
		if m, lerr := h.mailings.GetMailing(r.Context(), projections.OwnerScope{All: true}, id); lerr == nil && canRead(p, resMailing, m.OwnerID) {
			err = domain.Forbidden("only the owner may dispatch a mailing")
		}
	}
	if err != nil {
		respondError(w, r, err)
		return
	}
	respondCommand(w, r, http.StatusAccepted, res, DispatchAccepted{RunID: runID, MailingID: id})
}

type positionCursor struct {
	P int64 `json:"p"`
}

// listAttempts pages a mailing's attempts, oldest first: owner or staff;
// anyone else learns nothing (404).
func (h *Sending) listAttempts(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "mailing")
	if err != nil {
		respondError(w, r, err)
		return
	}
	p := principal(r)
	m, err := h.mailings.GetMailing(r.Context(), projections.OwnerScope{All: true}, id)
	if err == nil && !canRead(p, resMailing, m.OwnerID) {
		err = hidden("mailing")
	}
	if err != nil {
		respondError(w, r, err)
		return
	}
	limit, raw, err := pageParams(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	var cur positionCursor
	if err := decodeCursor(raw, &cur); err != nil {
		respondError(w, r, err)
		return
	}
	items, next, err := h.attempts.ListAttempts(r.Context(), projections.OwnerScope{Caller: p.UserID, All: canListAll(p, resMailing)}, id,
		projections.AttemptPage{Limit: limit, After: cur.P})
	if err != nil {
		respondError(w, r, err)
		return
	}
	nextCur := ""
	if next != 0 {
		nextCur = encodeCursor(positionCursor{P: next})
	}
	respondPage(w, r, items, nextCur)
}
