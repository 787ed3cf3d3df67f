package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/projections"
	"github.com/heraldmail/herald/web/form"
)

// The message pages show what the API's GET /api/v1/messages shows the
// caller (access.ReadScope: their own, or everyone's for staff holding
// messages.view_all) and change only what access.Changer lets the caller
// change, as the API's PUT and DELETE do.

// messagesPerPage is the length of one page of the list.
const messagesPerPage = 20

// messageID is the {id} of the path; ok is false when it is no UUID.
func messageID(r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	return id, err == nil
}

// loadMessage reads the message of the path as GET /api/v1/messages/{id}
// does: ok is false, and the 404 or error page already written, when it is
// missing or the caller may not read it.
func (h *Handler) loadMessage(w http.ResponseWriter, r *http.Request) (projections.MessageRow, bool) {
	id, ok := messageID(r)
	if !ok {
		h.showNotFound(w, r)
		return projections.MessageRow{}, false
	}
	p := principal(r)
	m, err := h.messageRows.GetMessage(r.Context(), access.ReadScope(p, access.Message), id)
	switch {
	case errors.Is(err, domain.ErrNotFound) || err == nil && !access.CanRead(p, access.Message, m.OwnerID):
		h.showNotFound(w, r)
		return m, false
	case err != nil:
		h.fail(w, r, err)
		return m, false
	}
	return m, true
}

// settleMessages waits briefly for the messages' read model to apply a
// change, so the page the browser is sent to shows it; a slow projector
// only makes the page lag, never fails the change.
func (h *Handler) settleMessages(r *http.Request, res eventstore.Result) {
	if h.waiter == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := h.waiter.WaitFor(ctx, []string{"messages"}, res.LastPosition); err != nil {
		h.log.Warn().Err(err).Int64("position", res.LastPosition).Msg("messages read model lags behind a page's change")
	}
}

// messageErrors maps what the core refused of a message form onto its
// fields, with the status of the page; ok is false for errors the form
// cannot show. A template that does not compile is named with the place
// the check gave (compose's messages start with the line), kept in f's
// Details.
func messageErrors(err error, f *form.Message) (e form.Errors, status int, ok bool) {
	e = form.Errors{}
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, fe := range ve.Fields {
			switch {
			case fe.Field != "subject" && fe.Field != "body" && fe.Field != "body_html":
				e.Add(form.FormField, "error.invalid_form")
			case strings.HasPrefix(fe.Message, "line ") || strings.HasPrefix(fe.Message, "template: "):
				e.Add(fe.Field, "error.message_template_invalid")
				if f.Details == nil {
					f.Details = map[string]string{}
				}
				if _, seen := f.Details[fe.Field]; !seen {
					f.Details[fe.Field] = fe.Message
				}
			case fe.Field == "subject":
				e.Add("subject", "error.message_subject_invalid")
			case fe.Field == "body":
				e.Add("body", "error.message_body_invalid")
			default:
				e.Add("body_html", "error.message_body_html_invalid")
			}
		}
		return e, http.StatusUnprocessableEntity, true
	case errors.Is(err, domain.ErrConflict):
		e.Add(form.FormField, "error.message_changed")
		return e, http.StatusConflict, true
	case errors.Is(err, domain.ErrForbidden):
		e.Add(form.FormField, "error.message_read_only")
		return e, http.StatusForbidden, true
	}
	return nil, 0, false
}

// renderMessageForm shows the message form again with what was typed and
// why it was refused. The language switch returns to the form's own page,
// not to the address it was posted to.
func (h *Handler) renderMessageForm(w http.ResponseWriter, r *http.Request, status int, f form.Message, errs form.Errors, id uuid.UUID) {
	v := h.view(w, r)
	v.Form, v.Errors, v.Data = f, errs, messageFormData{ID: id}
	v.Path = "/messages/new"
	if id != uuid.Nil {
		v.Path = "/messages/" + id.String() + "/edit"
	}
	h.render(w, r, status, "message_form", v)
}

// messageFormData tells the form whether it edits (ID set) or creates.
type messageFormData struct {
	ID uuid.UUID
}

// Editing reports whether the form changes an existing message.
func (d messageFormData) Editing() bool { return d.ID != uuid.Nil }
