package http

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// operations are what the operations endpoints need.
type operations struct {
	checkers []Checker    // run by /readyz
	metrics  http.Handler // /metrics
}

// routes is the route table of the API, grouped by area in the order of the
// API contract (api/openapi.yaml documents every route, and a test checks
// both ways). requireAuth guards what needs a caller;
// minPosition names the read models a read waits for when X-Min-Position
// asks.
func routes(r chi.Router, a Areas, ops operations) {
	id, res, send, hist, rep := a.Identity, a.Resources, a.Sending, a.History, a.Reports
	auth := r.With(requireAuth)
	read := func(projectors ...string) chi.Router { return r.With(requireAuth, minPosition(projectors...)) }

	// Auth
	r.Post("/api/v1/auth/register", id.register)
	r.Post("/api/v1/auth/verify", id.verifyPost)
	r.Get("/api/v1/auth/verify", id.verifyGet)
	r.Post("/api/v1/auth/login", id.login)
	auth.Post("/api/v1/auth/logout", id.logout)
	r.Post("/api/v1/auth/password-reset", id.requestPasswordReset)
	r.Post("/api/v1/auth/password-reset/confirm", id.confirmPasswordReset)
	auth.Get("/api/v1/me", id.me)

	// Public
	r.With(minPosition("stats")).Get("/api/v1/stats", res.stats)
	r.Get("/", res.homePage)

	// Clients
	read("clients").Get("/api/v1/clients", res.listClients)
	auth.Post("/api/v1/clients", res.createClient)
	auth.Post("/api/v1/clients/import", res.importClients)
	read("clients").Get("/api/v1/clients/export", res.exportClients)
	read("clients").Get("/api/v1/clients/{id}", res.getClient)
	auth.Put("/api/v1/clients/{id}", res.putClient)
	auth.Patch("/api/v1/clients/{id}", res.patchClient)
	auth.Delete("/api/v1/clients/{id}", res.deleteClient)
	auth.Post("/api/v1/clients/{id}/unsuppress", res.unsuppressClient)

	// Messages
	read("messages").Get("/api/v1/messages", res.listMessages)
	auth.Post("/api/v1/messages", res.createMessage)
	read("messages").Get("/api/v1/messages/{id}", res.getMessage)
	auth.Put("/api/v1/messages/{id}", res.putMessage)
	auth.Patch("/api/v1/messages/{id}", res.patchMessage)
	auth.Delete("/api/v1/messages/{id}", res.deleteMessage)
	read("messages", "clients").Post("/api/v1/messages/{id}/preview", res.previewMessage)

	// Mailings
	read("mailings").Get("/api/v1/mailings", res.listMailings)
	auth.Post("/api/v1/mailings", res.createMailing)
	read("mailings").Get("/api/v1/mailings/{id}", res.getMailing)
	auth.Put("/api/v1/mailings/{id}", res.putMailing)
	auth.Patch("/api/v1/mailings/{id}", res.patchMailing)
	auth.Delete("/api/v1/mailings/{id}", res.deleteMailing)
	auth.Post("/api/v1/mailings/{id}/disable", res.disableMailing)
	auth.Post("/api/v1/mailings/{id}/enable", res.enableMailing)
	auth.Post("/api/v1/mailings/{id}/dispatch", send.dispatchMailing)
	read("mailings", "attempts").Get("/api/v1/mailings/{id}/attempts", send.listAttempts)
	// The events come from the store itself, the run summaries from the
	// reports read model.
	read("reports").Get("/api/v1/mailings/{id}/history", hist.mailingHistory)

	// Reports
	read("reports").Get("/api/v1/reports/mailings", rep.mailingReports)
	read("reports").Get("/api/v1/reports/summary", rep.summary)

	// Users (staff)
	read("users").Get("/api/v1/users", id.listUsers)
	read("users").Get("/api/v1/users/{id}", id.getUser)
	auth.Post("/api/v1/users/{id}/block", id.blockUser)
	auth.Post("/api/v1/users/{id}/activate", id.activateUser)
	auth.Put("/api/v1/users/{id}/groups", id.setGroups)

	// Operations
	r.Get("/healthz", healthz)
	r.Get("/readyz", readyz(ops.checkers))
	r.Method(http.MethodGet, "/metrics", ops.metrics)
	r.Get("/api/openapi.yaml", openAPIDocument)
	r.Get("/api/docs", apiReference)
	r.Get("/api/docs/{asset}", apiReferenceAsset)
}
