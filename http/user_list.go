package http

import (
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
)

type usersCursor struct {
	After uuid.UUID `json:"after"`
}

// listUsers is for staff only: a list is not one resource whose existence
// could leak, so others get 403.
func (id *Identity) listUsers(w http.ResponseWriter, r *http.Request) {
	if !access.CanListAll(principal(r), access.User) {
		respondError(w, r, domain.Forbidden("only staff list users"))
		return
	}
	var cur usersCursor
	limit, err := readPage(r, &cur)
	if err != nil {
		respondError(w, r, err)
		return
	}
	items, err := id.svc.ListUsers(r.Context(), cur.After, limit+1)
	if err != nil {
		respondError(w, r, err)
		return
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = encodeCursor(usersCursor{After: items[len(items)-1].ID})
	}
	respondPage(w, r, items, next)
}
