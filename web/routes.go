package web

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// Mount registers the pages on the application's root router (it is an
// http.Module). Every page gets the security headers, cross-origin
// protection of unsafe methods, the language and the session.
func (h *Handler) Mount(r chi.Router) {
	r.Group(func(r chi.Router) {
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
		r.Get("/static/{file}", serveStatic)

		r.Group(func(r chi.Router) {
			r.Use(requireLogin)
			r.Get("/dashboard", h.showDashboard)
		})
	})
	// Browsers asking for a page that does not exist get an HTML page;
	// everything else (the API's clients) keeps the router's answer.
	api := http.NotFound
	if m, ok := r.(interface{ NotFoundHandler() http.HandlerFunc }); ok {
		api = m.NotFoundHandler()
	}
	page := securityHeaders(h.withLocale(h.withSession(http.HandlerFunc(h.showNotFound))))
	r.NotFound(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/api/") || !strings.Contains(req.Header.Get("Accept"), "text/html") {
			api(w, req)
			return
		}
		page.ServeHTTP(w, req)
	})
}
