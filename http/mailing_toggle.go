package http

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
)

// toggleMailing is POST /enable and /disable: the owner, or anyone holding
// mailings.toggle. Staff without it may read the mailing, so they are told
// 403; anyone else gets 404.
func (h *Resources) enableMailing(w http.ResponseWriter, r *http.Request) {
	h.toggleMailing(w, r, true)
}

func (h *Resources) disableMailing(w http.ResponseWriter, r *http.Request) {
	h.toggleMailing(w, r, false)
}

func (h *Resources) toggleMailing(w http.ResponseWriter, r *http.Request, enable bool) {
	t, err := readTarget(r, resMailing)
	if err != nil {
		respondError(w, r, err)
		return
	}
	p := principal(r)
	auth := func(owner uuid.UUID) error {
		switch {
		case canToggleMailing(p, owner):
			return nil
		case canRead(p, resMailing, owner):
			return domain.Forbidden("enabling and disabling another user's mailing needs the mailings.toggle permission")
		}
		return hidden("mailing")
	}
	out, err := h.mailings.Toggle(r.Context(), resourceMeta(r), commands.ToggleMailing{ID: t.id, Enable: enable, IfMatch: t.ifMatch, Authorize: auth})
	if err != nil {
		respondError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(out.Version))
	respondCommand(w, r, http.StatusOK, out.Result, mailingRow(out))
}
