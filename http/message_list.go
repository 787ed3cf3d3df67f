package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"
)

func (h *Resources) listMessages(w http.ResponseWriter, r *http.Request) {
	listOwned(w, r, access.Message, h.queries.ListMessages)
}
