package http

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
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
		writeError(w, r, domain.Forbidden("only staff list users"))
		return
	}
	limit, raw, err := pageParams(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var cur usersCursor
	if err := decodeCursor(raw, &cur); err != nil {
		writeError(w, r, err)
		return
	}
	rows, err := id.queries.ListUsers(r.Context(), cur.After, limit+1)
	if err != nil {
		writeError(w, r, err)
		return
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = encodeCursor(usersCursor{After: rows[len(rows)-1].ID})
	}
	items := make([]userView, len(rows))
	for i, u := range rows {
		items[i] = viewOfRow(u)
	}
	writePage(w, items, next)
}

// targetUser reads the {id} of the path and answers 404 unless the caller
// may see that account (their own; staff see all).
func targetUser(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	uid, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil || !canRead(principal(r), resUser, uid) {
		writeError(w, r, hidden("user"))
		return uuid.Nil, false
	}
	return uid, true
}

func (id *Identity) getUser(w http.ResponseWriter, r *http.Request) {
	uid, ok := targetUser(w, r)
	if !ok {
		return
	}
	row, err := id.queries.User(r.Context(), uid)
	if errors.Is(err, domain.ErrNotFound) {
		// The read model may not have a just registered account yet.
		v, err := id.view(r.Context(), uid)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
		return
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(row.Version))
	writeJSON(w, http.StatusOK, viewOfRow(row))
}

// toggleUser runs block or activate for a staff member holding
// users.toggle. Nobody blocks themselves (the last superuser could lock
// everyone out), and only a superuser blocks or activates a superuser.
func (id *Identity) toggleUser(w http.ResponseWriter, r *http.Request, block bool) {
	uid, ok := targetUser(w, r)
	if !ok {
		return
	}
	p := principal(r)
	if !canToggleUser(p) {
		writeError(w, r, domain.Forbidden("blocking and activating users needs staff status and users.toggle"))
		return
	}
	version, pinned, err := ifMatch(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if !pinned {
		version = commands.NoIfMatch
	}
	target, _, err := id.users.Load(r.Context(), uid)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if target.Superuser() && !p.IsSuperuser {
		writeError(w, r, domain.Forbidden("only a superuser blocks or activates a superuser"))
		return
	}
	var (
		u   *domain.User
		res eventstore.Result
	)
	if block {
		if uid == p.UserID {
			writeError(w, r, domain.Conflict("you cannot block yourself"))
			return
		}
		u, res, err = id.users.Block(r.Context(), identityMeta(r, p.UserID, "BlockUser"), uid, version)
		if err == nil {
			// The block is committed: end its sessions now, not when the
			// read model catches up.
			_, err = id.sessions.RevokeUser(r.Context(), uid, id.cfg.Now())
		}
	} else {
		u, res, err = id.users.Activate(r.Context(), identityMeta(r, p.UserID, "ActivateUser"), uid, version)
	}
	id.principals.forgetUser(uid)
	if err != nil {
		writeError(w, r, err)
		return
	}
	id.answerUser(w, r, u, res)
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
	p := principal(r)
	if !canSetGroups(p) {
		writeError(w, r, domain.Forbidden("only a superuser changes group membership"))
		return
	}
	var req setGroupsRequest
	if err := decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	version, pinned, err := ifMatch(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if !pinned {
		version = commands.NoIfMatch
	}
	u, res, err := id.users.SetGroups(r.Context(), identityMeta(r, p.UserID, "SetUserGroups"), uid, req.Groups, version)
	id.principals.forgetUser(uid)
	if err != nil {
		writeError(w, r, err)
		return
	}
	id.answerUser(w, r, u, res)
}

func (id *Identity) answerUser(w http.ResponseWriter, r *http.Request, u *domain.User, res eventstore.Result) {
	v, err := id.viewOf(r.Context(), u, res.Version)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(res.Version))
	writeCommand(w, http.StatusOK, res, v)
}
