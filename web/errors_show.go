package web

import "net/http"

// showNotFound answers a page that does not exist.
func (h *Handler) showNotFound(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusNotFound, "not_found", h.view(w, r))
}

// showMethodNotAllowed answers a page asked with a method it does not take
// (GET /logout, say): the same page, as there is nothing to show there.
func (h *Handler) showMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusMethodNotAllowed, "not_found", h.view(w, r))
}

// showForbidden answers a form posted from another site.
func (h *Handler) showForbidden(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusForbidden, "forbidden", h.view(w, r))
}
