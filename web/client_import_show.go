package web

import (
	"net/http"

	"github.com/heraldmail/herald/web/form"
)

// showClientImport is GET /clients/import: the form that sends a CSV file.
func (h *Handler) showClientImport(w http.ResponseWriter, r *http.Request) {
	h.renderClientImport(w, r, http.StatusOK, nil)
}

// renderClientImport shows the import form, with why the file was refused.
func (h *Handler) renderClientImport(w http.ResponseWriter, r *http.Request, status int, errs form.Errors) {
	v := h.view(w, r)
	v.Errors = errs
	h.render(w, r, status, "client_import", v)
}
