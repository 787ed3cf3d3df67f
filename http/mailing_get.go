package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/projections"
)

func (h *Resources) getMailing(w http.ResponseWriter, r *http.Request) {
	getOne(w, r, access.Mailing, h.queries.GetMailing, func(m projections.MailingRow) (uuid.UUID, int64) { return m.OwnerID, m.Version })
}
