package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// clientList is what the list page shows.
type clientList struct {
	Query   string
	All     bool // the caller sees everyone's clients (staff): an owner column
	Clients []clientItem
	Next    string // the next page's URL, "" on the last
}

// clientItem is one row of the list, with what the caller may do to it.
// Its fields are flat strings made once in Go: a template reaches a field
// of an embedded struct, or formats a UUID, through reflection on every
// row.
type clientItem struct {
	ID, OwnerID     string
	Email, FullName string
	Mine, CanChange bool
	// Unsubscribed and Suppression (its reason) say why mailings skip
	// the client.
	Unsubscribed bool
	Suppression  string
	Suppressed   bool
}

// listClients is GET /clients: the caller's clients (everyone's for staff
// holding clients.view_all, as the API lists them), ?q= keeping those
// whose email or name contains it (the API list's search), ?after= the
// cursor. Edit and delete are offered where the policy allows them.
func (h *Handler) listClients(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if domain.CheckText(q) != "" || len(q) > 255 {
		q = ""
	}
	after, _ := uuid.Parse(r.URL.Query().Get("after"))
	p := principal(r)
	rows, next, err := h.clientRows.ListClients(r.Context(), access.ReadScope(p, access.Client), q, projections.IDPage{Limit: clientsPerPage, After: after})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l := clientList{Query: q, All: access.CanListAll(p, access.Client), Clients: make([]clientItem, len(rows))}
	for i, c := range rows {
		l.Clients[i] = clientItem{ID: c.ID.String(), OwnerID: c.OwnerID.String(), Email: c.Email, FullName: c.FullName,
			Mine: access.Owns(p, c.OwnerID), CanChange: access.CanChange(p, c.OwnerID),
			Unsubscribed: c.UnsubscribedAt != nil, Suppressed: c.SuppressedAt != nil, Suppression: c.SuppressionReason}
	}
	if next != uuid.Nil {
		p := url.Values{"after": {next.String()}}
		if q != "" {
			p.Set("q", q)
		}
		l.Next = "/clients?" + p.Encode()
	}
	v := h.view(w, r)
	v.Data = l
	h.render(w, r, http.StatusOK, "clients", v)
}
