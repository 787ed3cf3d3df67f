package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// clientList is what the list page shows.
type clientList struct {
	Query   string
	Clients []projections.ClientRow
	Next    string // the next page's URL, "" on the last
}

// listClients is GET /clients: the caller's clients, ?q= keeping those whose
// email or name contains it (the API list's search), ?after= the cursor.
func (h *Handler) listClients(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if domain.CheckText(q) != "" || len(q) > 255 {
		q = ""
	}
	after, _ := uuid.Parse(r.URL.Query().Get("after"))
	rows, next, err := h.clientRows.ListClients(r.Context(), ownClients(r), q, projections.IDPage{Limit: clientsPerPage, After: after})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l := clientList{Query: q, Clients: rows}
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
