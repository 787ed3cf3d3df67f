package http

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/heraldmail/herald/access"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// commandMeta is the metadata of a command a request makes: the caller is
// the actor (the identity service names another where the caller is not
// signed in), the request id its correlation, and nothing caused it but the
// person. The decorator logs the command with that correlation.
func commandMeta(r *http.Request) domain.Metadata {
	return domain.Metadata{ActorID: principal(r).UserID, CorrelationID: Correlation(r.Context())}
}

// pathID reads {id}; an id that is not a UUID names nothing: 404.
func pathID(r *http.Request, what access.Resource) (uuid.UUID, error) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		return uuid.Nil, access.Hidden(what)
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
func readTarget(r *http.Request, what access.Resource) (target, error) {
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
	var c idCursor
	limit, err := readPage(r, &c)
	return projections.IDPage{Limit: limit, After: c.ID}, err
}

// listScope is what a list shows of what: what the caller may read
// (readScope), narrowed to one owner by ?owner_id=.
func listScope(r *http.Request, what access.Resource) (projections.OwnerScope, error) {
	s := access.ReadScope(principal(r), what)
	if raw := r.URL.Query().Get("owner_id"); raw != "" {
		id, err := uuid.Parse(raw)
		if err != nil {
			return s, domain.Invalid("owner_id", "must be a UUID")
		}
		s.Owner = id
	}
	return s, nil
}

func nextCursor(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return encodeCursor(idCursor{ID: id})
}

// ifMatch is the one reader of If-Match: `"<version>"` (also W/"3" and a
// bare 3) is the version a change is based on; nil means no precondition
// (no header, or "*"). Anything else answers 400 malformed_header, on every
// endpoint that takes the header, before anything else is decided.
func ifMatch(r *http.Request) (*int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return nil, nil
	}
	v = strings.TrimPrefix(v, "W/")
	v = strings.Trim(v, `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return nil, problem(CodeMalformedHeader, `If-Match must be a quoted version such as "3"`)
	}
	return &n, nil
}

// Paging (the API contract: ?limit= default 50, max 500; ?cursor= opaque).
const (
	defaultPageLimit = 50
	maxPageLimit     = 500
)

// pageParams reads ?limit and ?cursor. A limit that is not an integer in
// [1, 500] is a 422 naming "limit". The cursor is returned as sent; decode
// it with decodeCursor.
func pageParams(r *http.Request) (limit int, cursor string, err error) {
	q := r.URL.Query()
	limit = defaultPageLimit
	if s := q.Get("limit"); s != "" {
		n, perr := strconv.Atoi(s)
		if perr != nil || n < 1 || n > maxPageLimit {
			return 0, "", domain.Invalid("limit", fmt.Sprintf("must be an integer from 1 to %d", maxPageLimit))
		}
		limit = n
	}
	return limit, q.Get("cursor"), nil
}

// readPage reads ?limit, and ?cursor into cur (left alone on the first
// page).
func readPage(r *http.Request, cur any) (limit int, err error) {
	limit, raw, err := pageParams(r)
	if err != nil {
		return 0, err
	}
	return limit, decodeCursor(raw, cur)
}

// encodeCursor makes an opaque cursor from any JSON-encodable position
// (for example struct{ CreatedAt time.Time; ID uuid.UUID }).
func encodeCursor(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encodeCursor %T: %v", v, err)) // a programming error, not input
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor made by encodeCursor into dst. An empty cursor
// leaves dst alone and returns nil (first page); a bad one is a 422 naming
// "cursor".
func decodeCursor(s string, dst any) error {
	if s == "" {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err = dec.Decode(dst)
	}
	if err != nil {
		return domain.Invalid("cursor", "is not a cursor this server issued")
	}
	return nil
}
