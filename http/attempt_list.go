package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/heraldmail/herald/projections"
)

type positionCursor struct {
	P int64 `json:"p"`
}

// listAttempts pages a mailing's attempts, oldest first: owner or staff;
// anyone else learns nothing (404).
func (h *Sending) listAttempts(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, access.Mailing)
	if err != nil {
		respondError(w, r, err)
		return
	}
	p := principal(r)
	m, err := h.mailings.GetMailing(r.Context(), projections.OwnerScope{All: true}, id)
	if err == nil && !access.CanRead(p, access.Mailing, m.OwnerID) {
		err = access.Hidden(access.Mailing)
	}
	if err != nil {
		respondError(w, r, err)
		return
	}
	var cur positionCursor
	limit, err := readPage(r, &cur)
	if err != nil {
		respondError(w, r, err)
		return
	}
	items, next, err := h.attempts.ListAttempts(r.Context(), access.ReadScope(p, access.Mailing), id,
		projections.AttemptPage{Limit: limit, After: cur.P})
	if err != nil {
		respondError(w, r, err)
		return
	}
	nextCur := ""
	if next != 0 {
		nextCur = encodeCursor(positionCursor{P: next})
	}
	respondPage(w, r, items, nextCur)
}
