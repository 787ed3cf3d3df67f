package http

import (
	"context"
	"net/http"
	"strings"

	"github.com/heraldmail/herald/access"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// listClients is GET /api/v1/clients; ?q= keeps the clients whose email or
// name contains it.
func (h *Resources) listClients(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if msg := domain.CheckText(q); msg != "" || len(q) > 255 {
		respondError(w, r, domain.Invalid("q", "must be valid text of at most 255 bytes"))
		return
	}
	listOwned(w, r, access.Client, func(ctx context.Context, s projections.OwnerScope, p projections.IDPage) ([]projections.ClientRow, uuid.UUID, error) {
		return h.queries.ListClients(ctx, s, q, p)
	})
}
