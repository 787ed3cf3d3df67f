package http

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/identity"
)

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

// readUser reads the account a request names and answers 404 unless the
// caller may see it (their own; staff see all).
func readUser(r *http.Request) (uuid.UUID, error) {
	uid, err := pathID(r, resUser)
	if err == nil && !canRead(principal(r), resUser, uid) {
		err = hidden(resUser)
	}
	return uid, err
}

// readUserTarget is readUser for a command: the account and the version
// its change is based on (commands.NoIfMatch for none).
func readUserTarget(r *http.Request) (uuid.UUID, int64, error) {
	t, err := readTarget(r, resUser)
	if err != nil {
		return uuid.Nil, 0, err
	}
	if !canRead(principal(r), resUser, t.id) {
		return uuid.Nil, 0, hidden(resUser)
	}
	if t.ifMatch == nil {
		return t.id, commands.NoIfMatch, nil
	}
	return t.id, *t.ifMatch, nil
}

func (id *Identity) getUser(w http.ResponseWriter, r *http.Request) {
	uid, err := readUser(r)
	if err != nil {
		respondError(w, r, err)
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
	uid, version, err := readUserTarget(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	if !canToggleUser(principal(r)) {
		respondError(w, r, domain.Forbidden("blocking and activating users needs staff status and users.toggle"))
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
	uid, version, err := readUserTarget(r)
	if err != nil {
		respondError(w, r, err)
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
	a, res, err := id.svc.SetGroups(r.Context(), identityMeta(r), uid, req.Groups, version)
	answerUser(w, r, a, res, err)
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
