package http

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/heraldmail/herald/access"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/history"
)

// HistoryReader builds a mailing's audit replay (history.Reader).
type HistoryReader interface {
	Mailing(ctx context.Context, id uuid.UUID, o history.Options) (history.Document, error)
}

// History serves GET /mailings/{id}/history.
type History struct{ r HistoryReader }

// NewHistory returns the area.
func NewHistory(r HistoryReader) (*History, error) {
	if r == nil {
		return nil, errors.New("http: history needs a history reader")
	}
	return &History{r: r}, nil
}

// mailingHistory answers the audit trail of a mailing (deleted ones too): owner or
// staff; anyone else 404. ?at=<RFC 3339> adds the state at that instant;
// ?deliveries=true adds a page of delivery attempts (?limit, ?cursor).
func (h *History) mailingHistory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, access.Mailing)
	if err != nil {
		respondError(w, r, err)
		return
	}
	q := r.URL.Query()
	var o history.Options
	if raw := q.Get("at"); raw != "" {
		at, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			respondError(w, r, domain.Invalid("at", "must be an RFC 3339 time, such as 2026-11-25T09:00:00Z"))
			return
		}
		o.At = &at
	}
	if raw := q.Get("deliveries"); raw != "" {
		if o.Deliveries, err = strconv.ParseBool(raw); err != nil {
			respondError(w, r, domain.Invalid("deliveries", "must be true or false"))
			return
		}
	}
	if o.Limit, o.Cursor, err = pageParams(r); err != nil {
		respondError(w, r, err)
		return
	}
	// Who may read it is decided before the query is: someone else's
	// mailing answers exactly as a missing one, whatever else is wrong.
	o.Visible = func(owner uuid.UUID) bool { return access.CanRead(principal(r), access.Mailing, owner) }
	doc, err := h.r.Mailing(r.Context(), id, o)
	if err != nil {
		respondError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, doc)
}
