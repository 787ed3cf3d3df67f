package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// routes is the route table of the pages. Every page gets the security
// headers, cross-origin protection of unsafe methods, the language and the
// session.
func (h *Handler) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(securityHeaders, h.csrf.Handler, h.withLocale, h.withSession)

	r.Get("/", h.showHome)
	r.Get("/register", h.showRegister)
	r.Post("/register", h.submitRegister)
	r.Get("/verify", h.verifyEmail)
	r.Get("/login", h.showLogin)
	r.Post("/login", h.submitLogin)
	r.Post("/logout", h.logout)
	r.Get("/password-reset", h.showPasswordReset)
	r.Post("/password-reset", h.submitPasswordReset)
	r.Post("/language", h.switchLanguage)
	r.Post("/time-zone", h.switchTimeZone)
	r.Get("/static/{file}", serveStatic)
	// unsubscribe: the link of every mailing mail, no login
	r.Get("/unsubscribe/{token}", h.showUnsubscribe)
	r.Post("/unsubscribe/{token}", h.submitUnsubscribe)

	r.Group(func(r chi.Router) {
		r.Use(requireLogin)
		r.Get("/dashboard", h.showDashboard)
		r.Get("/clients", h.listClients)
		r.Get("/clients/new", h.newClient)
		r.Post("/clients", h.createClient)
		r.Get("/clients/{id}/edit", h.editClient)
		r.Post("/clients/{id}", h.updateClient)
		r.Post("/clients/{id}/delete", h.deleteClient)
		r.Post("/clients/{id}/unsuppress", h.unsuppressClient)
		// clients: CSV import and export
		r.Get("/clients/import", h.showClientImport)
		r.Post("/clients/import", h.importClients)
		r.Get("/clients/export.csv", h.exportClients)

		// messages
		r.Get("/messages", h.listMessages)
		r.Get("/messages/new", h.newMessage)
		r.Post("/messages", h.createMessage)
		r.Get("/messages/{id}", h.showMessage)
		r.Get("/messages/{id}/edit", h.editMessage)
		r.Post("/messages/{id}", h.updateMessage)
		r.Post("/messages/{id}/delete", h.deleteMessage)

		// mailings
		r.Get("/mailings", h.listMailings)
		r.Get("/mailings/new", h.newMailing)
		r.Post("/mailings", h.createMailing)
		r.Get("/mailings/{id}/edit", h.editMailing)
		r.Post("/mailings/{id}", h.updateMailing)
		r.Post("/mailings/{id}/enable", h.enableMailing)
		r.Post("/mailings/{id}/disable", h.disableMailing)
		r.Post("/mailings/{id}/send", h.sendMailing)
		r.Post("/mailings/{id}/delete", h.deleteMailing)

		// mailing: one mailing's page and its runs' progress
		r.Get("/mailings/{id}", h.showMailing)
		r.Get("/mailings/{id}/progress", h.showMailingProgress)

		// reports
		r.Get("/reports", h.listReports)
		r.Get("/reports/mailings.csv", h.exportReports)

		// manage: the staff pages, refused to anyone but staff.
		r.Group(func(r chi.Router) {
			r.Use(h.requireStaff)
			r.Get("/manage/users", h.listUsers)
			r.Post("/manage/users/{id}/block", h.blockUser)
			r.Post("/manage/users/{id}/activate", h.activateUser)
			r.Post("/manage/users/{id}/groups", h.setUserGroups)
			r.Get("/manage/mailings", h.listAllMailings)
			r.Post("/manage/mailings/{id}/enable", h.enableAnyMailing)
			r.Post("/manage/mailings/{id}/disable", h.disableAnyMailing)
			r.Get("/manage/reports", h.listAllReports)
		})
	})

	r.NotFound(h.showNotFound)
	r.MethodNotAllowed(h.showMethodNotAllowed)
	return r
}

// Mount puts the pages on the application's root router (Handler is an
// http.Module), behind the API's global middleware (request id, access
// log, metrics, panic recovery). GET / replaces the API's home page; the
// other pages answer what the API does not route, so the API's route table
// stays the JSON API alone. A request the pages do not know either gets the
// API's answer when it is for /api/ or not from a browser (no text/html in
// Accept), else the pages' 404.
func (h *Handler) Mount(r chi.Router) {
	pages := h.routes()
	r.Get("/", pages.ServeHTTP)
	api := http.NotFound
	if m, ok := r.(interface{ NotFoundHandler() http.HandlerFunc }); ok {
		api = m.NotFoundHandler()
	}
	r.NotFound(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/api/") || !isPage(pages, req) && !wantsHTML(req) {
			api(w, req)
			return
		}
		// A fresh routing context: the root's holds its failed match.
		pages.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), chi.RouteCtxKey, chi.NewRouteContext())))
	})
}

// isPage reports whether req names a page route, whatever its method.
func isPage(pages chi.Router, req *http.Request) bool {
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		if pages.Match(chi.NewRouteContext(), m, req.URL.Path) {
			return true
		}
	}
	return false
}

func wantsHTML(req *http.Request) bool {
	return strings.Contains(req.Header.Get("Accept"), "text/html")
}

// BodyLimit is the body limit of the pages' routes that take more than
// the API's default (http.BodyLimiter): the import form, whose own
// handler answers a file too large with the form again; 0 for the rest.
func (h *Handler) BodyLimit(r *http.Request) int64 {
	if r.Method == http.MethodPost && r.URL.Path == "/clients/import" {
		return maxImportBody
	}
	return 0
}
