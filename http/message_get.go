package http

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/projections"
)

func (h *Resources) getMessage(w http.ResponseWriter, r *http.Request) {
	getOne(w, r, resMessage, h.queries.GetMessage, func(m projections.MessageRow) (uuid.UUID, int64) { return m.OwnerID, m.Version })
}
