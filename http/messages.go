package http

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/projections"
)

// messageBody is the JSON of POST, PUT and PATCH /api/v1/messages.
type messageBody struct {
	Subject *string `json:"subject"`
	Body    *string `json:"body"`
}

func messageRow(o commands.Outcome[*domain.Message]) projections.MessageRow {
	m := o.State
	return projections.MessageRow{ID: m.ID(), OwnerID: m.Owner(), Subject: m.Subject(), Body: m.Body(),
		Version: o.Version, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

func (h *Resources) listMessages(w http.ResponseWriter, r *http.Request) {
	scope, err := readScope(r, resMessage)
	if err != nil {
		respondError(w, r, err)
		return
	}
	page, err := listPage(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	items, next, err := h.queries.ListMessages(r.Context(), scope, page)
	if err != nil {
		respondError(w, r, err)
		return
	}
	respondPage(w, r, items, nextCursor(next))
}

func (h *Resources) getMessage(w http.ResponseWriter, r *http.Request) {
	getOne(w, r, "message", h.queries.GetMessage, func(m projections.MessageRow) (uuid.UUID, int64) { return m.OwnerID, m.Version })
}

func (h *Resources) createMessage(w http.ResponseWriter, r *http.Request) {
	var b messageBody
	if err := decode(w, r, &b); err != nil {
		respondError(w, r, err)
		return
	}
	out, err := h.messages.Create(r.Context(), resourceMeta(r), commands.CreateMessage{Owner: principal(r).UserID,
		Fields: domain.MessageFields{Subject: deref(b.Subject), Body: deref(b.Body)}})
	if err != nil {
		respondError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/messages/"+out.State.ID().String())
	w.Header().Set("ETag", etag(out.Version))
	respondCommand(w, r, http.StatusCreated, out.Result, messageRow(out))
}

func (h *Resources) putMessage(w http.ResponseWriter, r *http.Request)   { h.updateMessage(w, r, false) }
func (h *Resources) patchMessage(w http.ResponseWriter, r *http.Request) { h.updateMessage(w, r, true) }

func (h *Resources) updateMessage(w http.ResponseWriter, r *http.Request, partial bool) {
	t, err := readTarget(r, resMessage)
	if err != nil {
		respondError(w, r, err)
		return
	}
	var b messageBody
	if err := decode(w, r, &b); err != nil {
		respondError(w, r, err)
		return
	}
	if !partial {
		b.Subject, b.Body = ptrOr(b.Subject), ptrOr(b.Body)
	}
	out, err := h.messages.Update(r.Context(), resourceMeta(r), commands.UpdateMessage{ID: t.id, Subject: b.Subject,
		Body: b.Body, IfMatch: t.ifMatch, Authorize: changer(r, "message")})
	if err != nil {
		respondError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(out.Version))
	respondCommand(w, r, http.StatusOK, out.Result, messageRow(out))
}

func (h *Resources) deleteMessage(w http.ResponseWriter, r *http.Request) {
	deleteOne(w, r, "message", func(t target, auth commands.Authorizer) (eventstore.Result, error) {
		return h.messages.Delete(r.Context(), resourceMeta(r), commands.DeleteMessage{ID: t.id, IfMatch: t.ifMatch, Authorize: auth})
	})
}
