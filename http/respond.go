package http

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/heraldmail/herald/access"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/eventstore"
)

// Every answer of this package is written by one function of this file, one
// per kind: respond (a JSON document), respondCommand (what a command
// answers), respondChanged (a command on a client, message or mailing,
// answered with the resource), respondPage (a list), respondError (a
// problem document) and respondDocument (bytes that are not JSON: the home
// page, the OpenAPI file). A handler sets its other headers (Location,
// ETag, Cache-Control) before it calls one; the CSV export alone streams
// (report_mailings_csv.go).

// HeaderEventPosition carries the store position of a command's last event.
const HeaderEventPosition = "X-Event-Position"

// respond answers body as JSON with status, or the status alone when body
// is nil (204); a body that cannot be encoded is the handler's bug and
// answers 500.
func respond(w http.ResponseWriter, r *http.Request, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	bp := bodyBuffers.Get().(*[]byte)
	b, err := appendJSON((*bp)[:0], body)
	if err != nil {
		bodyBuffers.Put(bp)
		respondError(w, r, fmt.Errorf("encode the %T answer: %w", body, err))
		return
	}
	b = append(b, '\n')
	writeBody(w, r, status, "application/json", b)
	if cap(b) <= 1<<20 { // keep no outsized buffer alive
		*bp = b
		bodyBuffers.Put(bp)
	}
}

// respondCommand answers a command as respond does, with X-Event-Position:
// the position of the last event it appended, so the client can send
// X-Min-Position on its next reads.
func respondCommand(w http.ResponseWriter, r *http.Request, status int, res eventstore.Result, body any) {
	w.Header().Set(HeaderEventPosition, strconv.FormatInt(res.LastPosition, 10))
	respond(w, r, status, body)
}

// identified is an aggregate a command answers with.
type identified interface{ ID() uuid.UUID }

// respondChanged answers a command on a resource, or its error: the
// resource as the command left it, in the shape its read model shows
// (row), with its version as ETag; a creation (201) also says where the
// resource lives.
func respondChanged[S identified, Row any](w http.ResponseWriter, r *http.Request, what access.Resource, status int,
	out commands.Outcome[S], err error, row func(commands.Outcome[S]) Row) {
	if err != nil {
		respondError(w, r, err)
		return
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/"+string(what)+"s/"+out.State.ID().String())
	}
	w.Header().Set("ETag", etag(out.Version))
	respondCommand(w, r, status, out.Result, row(out))
}

// Page is the body of every list answer. NextCursor is null on the last page.
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// respondPage answers a list; items is never null in JSON, and next ""
// means this is the last page.
func respondPage[T any](w http.ResponseWriter, r *http.Request, items []T, next string) {
	if items == nil {
		items = []T{}
	}
	p := Page[T]{Items: items}
	if next != "" {
		p.NextCursor = &next
	}
	respond(w, r, http.StatusOK, p)
}

// respondError answers err as an RFC 9457 problem document (problemFor
// decides which); a failure of the server is logged with the request id and
// never shown.
func respondError(w http.ResponseWriter, r *http.Request, err error) {
	p, header, failure := problemFor(err)
	if p.Code == CodeNotFound {
		if d := notFoundDetail(r, err); d != "" {
			p.Detail = d
		}
	}
	if failure {
		logFailure(r, err)
	}
	h := w.Header()
	for k, vs := range header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	p.RequestID = RequestID(r.Context())
	body, merr := marshalJSON(p)
	if merr != nil { // cannot happen with these field types; answer something valid anyway
		body = []byte(`{"type":"` + problemTypeBase + `internal","title":"Internal server error","status":500,"code":"internal"}`)
		p.Status = http.StatusInternalServerError
	}
	h.Set("Cache-Control", "no-store")
	writeBody(w, r, p.Status, "application/problem+json", body)
}

// respondDocument answers 200 with a document that is not JSON.
func respondDocument(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	writeBody(w, r, http.StatusOK, contentType, body)
}

// writeBody sends status and body with their Content-Type and
// Content-Length; a HEAD request gets the headers alone.
func writeBody(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// etag formats a version the way If-Match expects it back.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// notFoundDetail is the one text of a 404 on a resource the path names:
// "mailing not found", whether the mailing is missing, deleted or someone
// else's, whichever layer noticed. Any other 404 keeps its own text ("").
func notFoundDetail(r *http.Request, err error) string {
	var pe *ProblemError
	if errors.As(err, &pe) {
		return ""
	}
	kind, _, ok := strings.Cut(strings.TrimPrefix(routeOf(r), "/api/v1/"), "/{id}")
	if !ok || strings.Contains(kind, "/") {
		return ""
	}
	return strings.TrimSuffix(kind, "s") + " not found"
}
