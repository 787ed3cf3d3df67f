package http

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/projections"
)

// Resources is the API area of clients, messages, mailings, the public
// stats and the home page. Commands go through the handlers; reads come
// from the read models, scoped to the caller.
type Resources struct {
	clients  ClientCommands
	messages MessageCommands
	mailings MailingCommands
	queries  *projections.ResourceQueries
	home     *homePage
}

// ClientCommands handles the client commands (commands.ClientHandler,
// decorated).
type ClientCommands interface {
	Create(ctx context.Context, meta domain.Metadata, cmd commands.CreateClient) (commands.Outcome[*domain.Client], error)
	Update(ctx context.Context, meta domain.Metadata, cmd commands.UpdateClient) (commands.Outcome[*domain.Client], error)
	Delete(ctx context.Context, meta domain.Metadata, cmd commands.DeleteClient) (eventstore.Result, error)
}

// MessageCommands handles the message commands (commands.MessageHandler,
// decorated).
type MessageCommands interface {
	Create(ctx context.Context, meta domain.Metadata, cmd commands.CreateMessage) (commands.Outcome[*domain.Message], error)
	Update(ctx context.Context, meta domain.Metadata, cmd commands.UpdateMessage) (commands.Outcome[*domain.Message], error)
	Delete(ctx context.Context, meta domain.Metadata, cmd commands.DeleteMessage) (eventstore.Result, error)
}

// MailingCommands handles the mailing commands (commands.MailingHandler,
// decorated).
type MailingCommands interface {
	Create(ctx context.Context, meta domain.Metadata, cmd commands.CreateMailing) (commands.Outcome[*domain.Mailing], error)
	Update(ctx context.Context, meta domain.Metadata, cmd commands.UpdateMailing) (commands.Outcome[*domain.Mailing], error)
	Delete(ctx context.Context, meta domain.Metadata, cmd commands.DeleteMailing) (eventstore.Result, error)
	Toggle(ctx context.Context, meta domain.Metadata, cmd commands.ToggleMailing) (commands.Outcome[*domain.Mailing], error)
}

// NewResources returns the area; statsTTL is how long the home page and
// /api/v1/stats reuse their figures (0 means 3 s).
func NewResources(c ClientCommands, m MessageCommands, ml MailingCommands,
	q *projections.ResourceQueries, statsTTL time.Duration) (*Resources, error) {
	if c == nil || m == nil || ml == nil || q == nil {
		return nil, errors.New("http: resources need their handlers and queries")
	}
	if statsTTL <= 0 {
		statsTTL = 3 * time.Second
	}
	return &Resources{clients: c, messages: m, mailings: ml, queries: q, home: newHomePage(q, statsTTL)}, nil
}

// resourceMeta is the event metadata of a command: the caller is the actor,
// the request its correlation, and nothing caused it but the person.
func resourceMeta(r *http.Request) domain.Metadata {
	return domain.Metadata{ActorID: principal(r).UserID, CorrelationID: Correlation(r.Context())}
}

// changer is the authorizer of edits and deletions: the policy's canChange;
// someone who may read but not change (staff) is refused with 403, anyone
// else learns nothing (404).
func changer(r *http.Request, what resource) commands.Authorizer {
	p := principal(r)
	return func(owner uuid.UUID) error {
		switch {
		case canChange(p, owner):
			return nil
		case canRead(p, what, owner):
			return domain.Forbidden("staff may read another user's " + string(what) + " but not change it")
		}
		return hidden(what)
	}
}

// readScope is what the caller may list of what: their own, or everyone's
// as the policy allows (?owner_id= narrows).
func readScope(r *http.Request, what resource) (projections.OwnerScope, error) {
	p := principal(r)
	s := projections.OwnerScope{Caller: p.UserID, All: canListAll(p, what)}
	if raw := r.URL.Query().Get("owner_id"); raw != "" {
		id, err := uuid.Parse(raw)
		if err != nil {
			return s, domain.Invalid("owner_id", "must be a UUID")
		}
		s.Owner = id
	}
	return s, nil
}

// pathID reads {id}; an id that is not a UUID names nothing: 404.
// getOne answers GET of one resource: 404 when it is missing or the caller
// may not read it (never 403), its version as ETag otherwise.
func getOne[T any](w http.ResponseWriter, r *http.Request, what resource,
	load func(context.Context, projections.OwnerScope, uuid.UUID) (T, error), meta func(T) (owner uuid.UUID, version int64)) {
	id, err := pathID(r, what)
	if err != nil {
		respondError(w, r, err)
		return
	}
	scope, _ := readScope(r, what)
	scope.Owner = uuid.Nil
	v, err := load(r.Context(), scope, id)
	if err != nil {
		respondError(w, r, err)
		return
	}
	owner, version := meta(v)
	if !canRead(principal(r), what, owner) {
		respondError(w, r, hidden(what))
		return
	}
	w.Header().Set("ETag", etag(version))
	respond(w, r, http.StatusOK, v)
}

// deleteOne answers DELETE of one resource: del runs the command with the
// If-Match version and the caller's authorization; 204 with X-Event-Position.
func deleteOne(w http.ResponseWriter, r *http.Request, what resource,
	del func(t target, auth commands.Authorizer) (eventstore.Result, error)) {
	t, err := readTarget(r, what)
	if err != nil {
		respondError(w, r, err)
		return
	}
	res, err := del(t, changer(r, what))
	if err != nil {
		respondError(w, r, err)
		return
	}
	respondCommand(w, r, http.StatusNoContent, res, nil)
}

func pathID(r *http.Request, what resource) (uuid.UUID, error) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		return uuid.Nil, hidden(what)
	}
	return id, nil
}

// target is what a command request changes: the resource its path names
// and the version the change is based on (If-Match; nil for none).
type target struct {
	id      uuid.UUID
	ifMatch *int64
}

// readTarget reads the {id} of a command's path and its If-Match.
func readTarget(r *http.Request, what resource) (target, error) {
	id, err := pathID(r, what)
	if err != nil {
		return target{}, err
	}
	version, err := ifMatch(r)
	return target{id: id, ifMatch: version}, err
}

type idCursor struct {
	ID uuid.UUID `json:"id"`
}

// listPage reads ?limit and ?cursor into a keyset page.
func listPage(r *http.Request) (projections.IDPage, error) {
	limit, raw, err := pageParams(r)
	if err != nil {
		return projections.IDPage{}, err
	}
	var c idCursor
	if err := decodeCursor(raw, &c); err != nil {
		return projections.IDPage{}, err
	}
	return projections.IDPage{Limit: limit, After: c.ID}, nil
}

func nextCursor(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return encodeCursor(idCursor{ID: id})
}

// clientBody is the JSON of POST, PUT and PATCH /api/v1/clients.
type clientBody struct {
	Email    *string `json:"email"`
	FullName *string `json:"full_name"`
	Comment  *string `json:"comment"`
}

func clientRow(o commands.Outcome[*domain.Client]) projections.ClientRow {
	c := o.State
	return projections.ClientRow{ID: c.ID(), OwnerID: c.Owner(), Email: c.Email(), FullName: c.FullName(),
		Comment: c.Comment(), Version: o.Version, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (h *Resources) listClients(w http.ResponseWriter, r *http.Request) {
	scope, err := readScope(r, resClient)
	if err != nil {
		respondError(w, r, err)
		return
	}
	page, err := listPage(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if msg := domain.CheckText(q); msg != "" || len(q) > 255 {
		respondError(w, r, domain.Invalid("q", "must be valid text of at most 255 bytes"))
		return
	}
	items, next, err := h.queries.ListClients(r.Context(), scope, q, page)
	if err != nil {
		respondError(w, r, err)
		return
	}
	respondPage(w, r, items, nextCursor(next))
}

func (h *Resources) getClient(w http.ResponseWriter, r *http.Request) {
	getOne(w, r, "client", h.queries.GetClient, func(c projections.ClientRow) (uuid.UUID, int64) { return c.OwnerID, c.Version })
}

func (h *Resources) createClient(w http.ResponseWriter, r *http.Request) {
	var b clientBody
	if err := decode(w, r, &b); err != nil {
		respondError(w, r, err)
		return
	}
	out, err := h.clients.Create(r.Context(), resourceMeta(r), commands.CreateClient{Owner: principal(r).UserID,
		Fields: domain.ClientFields{Email: deref(b.Email), FullName: deref(b.FullName), Comment: deref(b.Comment)}})
	if err != nil {
		respondError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/clients/"+out.State.ID().String())
	w.Header().Set("ETag", etag(out.Version))
	respondCommand(w, r, http.StatusCreated, out.Result, clientRow(out))
}

// updateClient is PUT (partial=false: every field is set, absent ones
// become empty) and PATCH (only the fields sent change).
func (h *Resources) putClient(w http.ResponseWriter, r *http.Request)   { h.updateClient(w, r, false) }
func (h *Resources) patchClient(w http.ResponseWriter, r *http.Request) { h.updateClient(w, r, true) }

func (h *Resources) updateClient(w http.ResponseWriter, r *http.Request, partial bool) {
	t, err := readTarget(r, resClient)
	if err != nil {
		respondError(w, r, err)
		return
	}
	var b clientBody
	if err := decode(w, r, &b); err != nil {
		respondError(w, r, err)
		return
	}
	if !partial {
		b.Email, b.FullName, b.Comment = ptrOr(b.Email), ptrOr(b.FullName), ptrOr(b.Comment)
	}
	out, err := h.clients.Update(r.Context(), resourceMeta(r), commands.UpdateClient{ID: t.id, Email: b.Email,
		FullName: b.FullName, Comment: b.Comment, IfMatch: t.ifMatch, Authorize: changer(r, "client")})
	if err != nil {
		respondError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(out.Version))
	respondCommand(w, r, http.StatusOK, out.Result, clientRow(out))
}

func ptrOr(s *string) *string {
	if s == nil {
		return new(string)
	}
	return s
}

func (h *Resources) deleteClient(w http.ResponseWriter, r *http.Request) {
	deleteOne(w, r, "client", func(t target, auth commands.Authorizer) (eventstore.Result, error) {
		return h.clients.Delete(r.Context(), resourceMeta(r), commands.DeleteClient{ID: t.id, IfMatch: t.ifMatch, Authorize: auth})
	})
}
