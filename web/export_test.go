package web

import "github.com/go-chi/chi/v5"

// Routes is the pages' route table, for tests that walk it.
func Routes(h *Handler) chi.Routes { return h.routes() }
