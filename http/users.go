package http

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/identity"
)

// The users endpoints of API.md: the staff list, one account, block,
// activate and group membership.
func (id *Identity) mountUsers(r chi.Router) {
	r.Route("/api/v1/users", func(r chi.Router) {
		r.Use(requireAuth)
		r.With(minPosition("users")).Get("/", id.listUsers)
		r.With(minPosition("users")).Get("/{id}", id.getUser)
		r.Post("/{id}/block", id.blockUser)
		r.Post("/{id}/activate", id.activateUser)
		r.Put("/{id}/groups", id.setGroups)
	})
}

type usersCursor struct {
	After uuid.UUID `json:"after"`
}

// listUsers is for staff only: a list is not one resource whose existence
// could leak, so others get 403.
func (id *Identity) listUsers(w http.ResponseWriter, r *http.Request) {
	if !canListAll(principal(r), resUser) {
		respondError(w, r, domain.Forbidden("only staff list users"))
		return
	}
	limit, raw, err := pageParams(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	var cur usersCursor
	if err := decodeCursor(raw, &cur); err != nil {
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

// targetUser reads the {id} of the path and answers 404 unless the caller
// may see that account (their own; staff see all).
func targetUser(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	uid, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil || !canRead(principal(r), resUser, uid) {
		respondError(w, r, hidden("user"))
		return uuid.Nil, false
	}
	return uid, true
}

func (id *Identity) getUser(w http.ResponseWriter, r *http.Request) {
	uid, ok := targetUser(w, r)
	if !ok {
		return
	}
	a, projected, err := id.svc.User(r.Context(), uid)
	if err != nil {
		respondError(w, r, err)
		return
	}
	if projected {
		w.Header().Set("ETag", etag(a.Version))
	}
	respond(w, r, http.StatusOK, a)
}

// toggleUser runs block or activate for a staff member holding
// users.toggle; who may block whom beyond that is the command's rule.
func (id *Identity) toggleUser(w http.ResponseWriter, r *http.Request, block bool) {
	uid, ok := targetUser(w, r)
	if !ok {
		return
	}
	if !canToggleUser(principal(r)) {
		respondError(w, r, domain.Forbidden("blocking and activating users needs staff status and users.toggle"))
		return
	}
	version, ok := userIfMatch(w, r)
	if !ok {
		return
	}
	toggle := id.svc.Activate
	if block {
		toggle = id.svc.Block
	}
	a, res, err := toggle(r.Context(), identityMeta(r), uid, version)
	answerUser(w, r, a, res, err)
}

func (id *Identity) blockUser(w http.ResponseWriter, r *http.Request)    { id.toggleUser(w, r, true) }
func (id *Identity) activateUser(w http.ResponseWriter, r *http.Request) { id.toggleUser(w, r, false) }

type setGroupsRequest struct {
	Groups []string `json:"groups" validate:"required,max=32,dive,required,max=63"`
}

// setGroups replaces an account's groups (superuser only). Adding managers
// makes the account staff.
func (id *Identity) setGroups(w http.ResponseWriter, r *http.Request) {
	uid, ok := targetUser(w, r)
	if !ok {
		return
	}
	if !canSetGroups(principal(r)) {
		respondError(w, r, domain.Forbidden("only a superuser changes group membership"))
		return
	}
	var req setGroupsRequest
	if err := decode(w, r, &req); err != nil {
		respondError(w, r, err)
		return
	}
	version, ok := userIfMatch(w, r)
	if !ok {
		return
	}
	a, res, err := id.svc.SetGroups(r.Context(), identityMeta(r), uid, req.Groups, version)
	answerUser(w, r, a, res, err)
}

// userIfMatch is the If-Match version of a user command, or
// commands.NoIfMatch when none was sent.
func userIfMatch(w http.ResponseWriter, r *http.Request) (int64, bool) {
	version, pinned, err := ifMatch(r)
	if err != nil {
		respondError(w, r, err)
		return 0, false
	}
	if !pinned {
		return commands.NoIfMatch, true
	}
	return version, true
}

// answerUser answers a user command with the account and its ETag.
func answerUser(w http.ResponseWriter, r *http.Request, a identity.Account, res eventstore.Result, err error) {
	if err != nil {
		respondError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(res.Version))
	respondCommand(w, r, http.StatusOK, res, a)
}
