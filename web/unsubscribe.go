package web

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
)

// unsubscribeData is the unsubscribe page: the question, or its answer.
type unsubscribeData struct {
	Email  string
	Token  string
	Done   bool // the client is unsubscribed
	Failed bool // the link is not valid
}

// showUnsubscribe is GET /unsubscribe/{token}, the link of every mailing
// mail: no login; it asks before anything changes (a link scanner's GET
// must not unsubscribe anyone).
func (h *Handler) showUnsubscribe(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	c, err := h.optOuts.CheckToken(r.Context(), token)
	h.renderUnsubscribe(w, r, c, token, err, false)
}

// submitUnsubscribe is POST /unsubscribe/{token}: the page's button, and the
// one-click POST (List-Unsubscribe=One-Click) mailbox providers send from
// their own origin without cookies (see the bypass in New). Repeating it
// changes nothing and answers the same.
func (h *Handler) submitUnsubscribe(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	c, err := h.optOuts.Unsubscribe(r.Context(), meta(r), commands.UnsubscribeClient{Token: token})
	h.renderUnsubscribe(w, r, c, token, err, true)
}

func (h *Handler) renderUnsubscribe(w http.ResponseWriter, r *http.Request, c *domain.Client, token string, err error, done bool) {
	v := h.view(w, r)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		v.Data = unsubscribeData{Failed: true}
		h.render(w, r, http.StatusNotFound, "unsubscribe", v)
	case err != nil:
		h.fail(w, r, err)
	default:
		v.Data = unsubscribeData{Email: c.Email(), Token: token, Done: done || !c.UnsubscribedAt().IsZero()}
		h.render(w, r, http.StatusOK, "unsubscribe", v)
	}
}
