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

// The mailing pages list, create, change, enable, disable, send and delete
// mailings through the API's command handlers and read-model queries, with
// the API's policy (package access): staff holding mailings.view_all see
// everyone's, the owner changes them, holders of mailings.toggle enable and
// disable them, and only the owner sends one now.

// mailingsPerPage is the length of one page of the list.
const mailingsPerPage = 20

// mailingID is the {id} of the path; ok is false when it is no UUID.
func mailingID(r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	return id, err == nil
}

// isHTMX reports whether htmx sent r, to be answered with a fragment.
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// returnTo is where an action on a mailing sends the browser back: the
// mailing page it came from (the list with its filters and page, say),
// never another site; the list by default.
func returnTo(r *http.Request) string {
	next := localPath(r.PostFormValue("next"), "/mailings")
	if next != "/mailings" && !strings.HasPrefix(next, "/mailings?") && !strings.HasPrefix(next, "/mailings/") {
		return "/mailings"
	}
	return next
}

// settleMailings waits briefly for the mailings' read model to apply a
// change, so the page shown next has it; a slow projector only makes the
// page lag, never fails the change.
func (h *Handler) settleMailings(r *http.Request, res eventstore.Result) {
	if h.waiter == nil || res.LastPosition == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := h.waiter.WaitFor(ctx, []string{"mailings"}, res.LastPosition); err != nil {
		h.log.Warn().Err(err).Int64("position", res.LastPosition).Msg("mailings read model lags behind a page's change")
	}
}

// readableMailing is the mailing the caller may read, or an ErrNotFound
// error (also for one they may not read: its existence does not leak).
func (h *Handler) readableMailing(r *http.Request, id uuid.UUID) (projections.MailingRow, error) {
	p := principal(r)
	m, err := h.mailingRows.GetMailing(r.Context(), access.ReadScope(p, access.Mailing), id)
	if err == nil && !access.CanRead(p, access.Mailing, m.OwnerID) {
		err = access.Hidden(access.Mailing)
	}
	return m, err
}

// refuseMailing answers what the core refused: the not-found page for a
// mailing the caller may not see, the refusal page for one they may see
// but not change in that way; ok is false for other errors.
func (h *Handler) refuseMailing(w http.ResponseWriter, r *http.Request, err error) (ok bool) {
	switch {
	case errors.Is(err, domain.ErrNotFound):
		h.showNotFound(w, r)
	case errors.Is(err, domain.ErrForbidden):
		h.render(w, r, http.StatusForbidden, "mailing_refused", h.view(w, r))
	default:
		return false
	}
	return true
}

// invalidMailingField is the message of each mailing field the core may
// refuse.
var invalidMailingField = map[string]string{
	"message_id":  "error.mailing_unknown_message",
	"client_ids":  "error.mailing_unknown_clients",
	"start_at":    "error.mailing_invalid_time",
	"end_at":      "error.mailing_end_before_start",
	"periodicity": "error.mailing_invalid_periodicity",
	"timezone":    "error.mailing_invalid_timezone",
}

// mailingErrors maps what the core refused of a mailing form onto its
// fields; ok is false for errors the form cannot show.
func mailingErrors(err error) (form.Errors, bool) {
	e := form.Errors{}
	var ve *domain.ValidationError
	switch {
	case errors.Is(err, domain.ErrMailingCompleted):
		e.Add(form.FormField, "error.mailing_completed")
	case errors.Is(err, domain.ErrConflict):
		e.Add(form.FormField, "error.mailing_changed")
	case errors.As(err, &ve):
		for _, f := range ve.Fields {
			if id, ok := invalidMailingField[f.Field]; ok {
				e.Add(f.Field, id)
			} else {
				e.Add(form.FormField, "error.invalid_form")
			}
		}
	default:
		return nil, false
	}
	return e, true
}
