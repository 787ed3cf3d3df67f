package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/projections"
	"github.com/heraldmail/herald/web/form"
)

// The client pages show and change the signed-in user's own clients only:
// the API's policy (staff with clients.view_all see everyone's) lives
// unexported in package http, so the pages do not offer that view yet.

// clientsPerPage is the length of one page of the list.
const clientsPerPage = 20

// ownClients is the read scope of the pages: the caller's clients.
func ownClients(r *http.Request) projections.OwnerScope {
	return projections.OwnerScope{Caller: principal(r).UserID}
}

// ownerOnly is the authorizer of the pages' edits and deletions: anyone
// else's client is not found, as the API answers a caller who may not see it.
func ownerOnly(r *http.Request) commands.Authorizer {
	me := principal(r).UserID
	return func(owner uuid.UUID) error {
		if owner != uuid.Nil && owner == me {
			return nil
		}
		return domain.NotFound("client not found")
	}
}

// clientID is the {id} of the path; ok is false when it is no UUID.
func clientID(r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	return id, err == nil
}

// settle waits briefly for the clients' read model to apply a change, so
// the list the browser is sent to shows it; a slow projector only makes the
// list lag, never fails the change.
func (h *Handler) settle(r *http.Request, res eventstore.Result) {
	if h.waiter == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := h.waiter.WaitFor(ctx, []string{"clients"}, res.LastPosition); err != nil {
		h.log.Warn().Err(err).Int64("position", res.LastPosition).Msg("clients read model lags behind a page's change")
	}
}

// clientErrors maps what the core refused of a client form onto its fields;
// ok is false for errors the form cannot show.
func clientErrors(err error) (form.Errors, bool) {
	e := form.Errors{}
	switch {
	case errors.Is(err, domain.ErrEmailTaken):
		e.Add("email", "error.client_email_taken")
	case errors.Is(err, domain.ErrConflict):
		e.Add(form.FormField, "error.client_changed")
	default:
		return fieldErrors(err)
	}
	return e, true
}

// renderClientForm shows the client form again with what was typed and why
// it was refused.
func (h *Handler) renderClientForm(w http.ResponseWriter, r *http.Request, f form.Client, errs form.Errors, id uuid.UUID) {
	v := h.view(w, r)
	v.Form, v.Errors, v.Data = f, errs, clientFormData{ID: id}
	h.render(w, r, http.StatusUnprocessableEntity, "client_form", v)
}

// clientFormData tells the form whether it edits (ID set) or creates.
type clientFormData struct {
	ID uuid.UUID
}

// Editing reports whether the form changes an existing client.
func (d clientFormData) Editing() bool { return d.ID != uuid.Nil }
