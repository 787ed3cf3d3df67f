package http

import (
	"context"
	"net/http"

	"github.com/heraldmail/herald/access"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/projections"
)

// The steps the handlers of owned resources (clients, messages, mailings,
// reports) share: answering a list, one resource and a deletion, and
// reading a change. The handlers keep what differs: their query
// parameters, their body and the command they run; respondChanged
// (respond.go) answers their commands.

// listOwned answers GET of a list: a page of list, over what the caller
// may read of what (?owner_id= narrows it).
func listOwned[T any](w http.ResponseWriter, r *http.Request, what access.Resource,
	list func(context.Context, projections.OwnerScope, projections.IDPage) ([]T, uuid.UUID, error)) {
	scope, err := listScope(r, what)
	if err != nil {
		respondError(w, r, err)
		return
	}
	page, err := listPage(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	items, next, err := list(r.Context(), scope, page)
	if err != nil {
		respondError(w, r, err)
		return
	}
	respondPage(w, r, items, nextCursor(next))
}

// getOne answers GET of one resource: 404 when it is missing or the caller
// may not read it (never 403), its version as ETag otherwise.
func getOne[T any](w http.ResponseWriter, r *http.Request, what access.Resource,
	load func(context.Context, projections.OwnerScope, uuid.UUID) (T, error), meta func(T) (owner uuid.UUID, version int64)) {
	id, err := pathID(r, what)
	if err != nil {
		respondError(w, r, err)
		return
	}
	v, err := load(r.Context(), access.ReadScope(principal(r), what), id)
	if err != nil {
		respondError(w, r, err)
		return
	}
	owner, version := meta(v)
	if !access.CanRead(principal(r), what, owner) {
		respondError(w, r, access.Hidden(what))
		return
	}
	w.Header().Set("ETag", etag(version))
	respond(w, r, http.StatusOK, v)
}

// readChange reads what a PUT or PATCH asks: its target and its body.
func readChange(w http.ResponseWriter, r *http.Request, what access.Resource, body any) (target, error) {
	t, err := readTarget(r, what)
	if err != nil {
		return t, err
	}
	return t, decode(w, r, body)
}

// deleteOne answers DELETE of one resource: del runs the command on the
// target with the caller's authorization; 204 with X-Event-Position.
func deleteOne(w http.ResponseWriter, r *http.Request, what access.Resource,
	del func(t target, auth commands.Authorizer) (eventstore.Result, error)) {
	t, err := readTarget(r, what)
	if err != nil {
		respondError(w, r, err)
		return
	}
	res, err := del(t, access.Changer(principal(r), what))
	if err != nil {
		respondError(w, r, err)
		return
	}
	respondCommand(w, r, http.StatusNoContent, res, nil)
}

// deref is a field a creation did not get as empty, for the domain to name
// it if it is required.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ptrOr is a field a PUT did not send as empty: PUT sets every field.
func ptrOr(s *string) *string {
	if s == nil {
		return new(string)
	}
	return s
}
