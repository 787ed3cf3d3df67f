package http

import "net/http"

func (h *Resources) listMessages(w http.ResponseWriter, r *http.Request) {
	listOwned(w, r, resMessage, h.queries.ListMessages)
}
