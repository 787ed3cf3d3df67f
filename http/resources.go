package http

import (
	"context"
	"errors"
	"net/http"
	"time"

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

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptrOr(s *string) *string {
	if s == nil {
		return new(string)
	}
	return s
}
