package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/projections"
)

func (h *Resources) getMessage(w http.ResponseWriter, r *http.Request) {
	getOne(w, r, access.Message, h.queries.GetMessage, func(m projections.MessageRow) (uuid.UUID, int64) { return m.OwnerID, m.Version })
}
