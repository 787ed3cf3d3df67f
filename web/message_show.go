package web

import (
	"html/template"
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/compose"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
	"github.com/heraldmail/herald/web/form"
)

// previewClients is how many of the owner's clients the preview offers.
const previewClients = 100

// messagePreview is what the preview page shows: the message rendered
// for one of its owner's clients, as the sender renders it, and what the
// caller may do to it.
type messagePreview struct {
	Message   projections.MessageRow
	From      string // the sender mailings go out as; "" when not configured
	CanChange bool
	Clients   []projections.ClientRow // the owner's clients the caller may read, to choose from
	Client    uuid.UUID               // the one shown; Nil when there is none
	Mail      compose.Mail
	// HTML is Mail.HTML sanitized again for this page (compose.SafeHTML):
	// shown inline, as the page's Content-Security-Policy allows no frame
	// of its own content with inline styles.
	HTML template.HTML
}

// showMessage is GET /messages/{id}, as GET /api/v1/messages/{id}: the
// message as a recipient (?client=, or the first client) will see it. One
// the caller may not read is not found.
func (h *Handler) showMessage(w http.ResponseWriter, r *http.Request) {
	if m, ok := h.loadMessage(w, r); ok {
		h.renderMessagePreview(w, r, http.StatusOK, m, nil)
	}
}

// renderMessagePreview shows m's preview with status and errs (why an
// action on it was refused); the language switch returns to the preview.
func (h *Handler) renderMessagePreview(w http.ResponseWriter, r *http.Request, status int, m projections.MessageRow, errs form.Errors) {
	p := principal(r)
	scope := access.ReadScope(p, access.Client)
	scope.Owner = m.OwnerID
	clients, _, err := h.clientRows.ListClients(r.Context(), scope, "", projections.IDPage{Limit: previewClients})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := messagePreview{Message: m, From: h.mailFrom, CanChange: access.CanChange(p, m.OwnerID), Clients: clients}
	var c projections.ClientRow
	if id, err := uuid.Parse(r.URL.Query().Get("client")); err == nil {
		if c, err = h.clientRows.GetClient(r.Context(), scope, id); err != nil {
			c = projections.ClientRow{}
		}
	}
	switch {
	case c.ID == uuid.Nil && len(clients) > 0:
		c = clients[0]
	case c.ID != uuid.Nil && !slices.ContainsFunc(clients, func(x projections.ClientRow) bool { return x.ID == c.ID }):
		d.Clients = append([]projections.ClientRow{c}, clients...)
	}
	d.Client = c.ID
	d.Mail, err = compose.Render(domain.MessageFields{Subject: m.Subject, Body: m.Body, BodyHTML: m.BodyHTML},
		compose.Fields{FullName: c.FullName, Email: c.Email, Comment: c.Comment})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.HTML = template.HTML(compose.SafeHTML(d.Mail.HTML))
	v := h.view(w, r)
	v.Errors, v.Path, v.Data = errs, "/messages/"+m.ID.String(), d
	h.render(w, r, status, "message_preview", v)
}
