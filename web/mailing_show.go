package web

import (
	"net/http"
	"time"

	"github.com/heraldmail/herald/internal/history"
)

// showMailing is GET /mailings/{id}: the mailing's setting and state, its
// runs (re-fetched while one sends), its delivery attempts failures first,
// its history and its report. ?at=<RFC 3339 time> shows its state as of
// that instant, replayed from its events (and the runs begun by then);
// ?attempts= pages the attempts. Someone who may not read it gets the 404
// page.
func (h *Handler) showMailing(w http.ResponseWriter, r *http.Request) {
	id, ok := shownMailingID(r)
	if !ok {
		h.showNotFound(w, r)
		return
	}
	q := r.URL.Query()
	var o history.Options
	// An instant this page did not link to shows the state now.
	if at, err := time.Parse(time.RFC3339Nano, q.Get("at")); err == nil {
		o.At = &at
	}
	doc, ok := h.shownMailing(w, r, id, o)
	if !ok {
		return
	}
	v := h.view(w, r)
	d, err := h.mailingDetailOf(r, v, doc, q.Get("attempts"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Data = d
	h.render(w, r, http.StatusOK, "mailing", v)
}
