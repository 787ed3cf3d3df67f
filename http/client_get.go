package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/projections"
)

func (h *Resources) getClient(w http.ResponseWriter, r *http.Request) {
	getOne(w, r, access.Client, h.queries.GetClient, func(c projections.ClientRow) (uuid.UUID, int64) { return c.OwnerID, c.Version })
}
