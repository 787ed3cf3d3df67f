package http

import (
	"context"
	"net/http"
	"strconv"

	"github.com/heraldmail/herald/access"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// listMailings is GET /api/v1/mailings; ?status= and ?is_active= filter it.
func (h *Resources) listMailings(w http.ResponseWriter, r *http.Request) {
	f, err := mailingFilter(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	listOwned(w, r, access.Mailing, func(ctx context.Context, s projections.OwnerScope, p projections.IDPage) ([]projections.MailingRow, uuid.UUID, error) {
		return h.queries.ListMailings(ctx, s, f, p)
	})
}

// mailingFilter reads ?status= and ?is_active=.
func mailingFilter(r *http.Request) (projections.MailingFilter, error) {
	var f projections.MailingFilter
	q := r.URL.Query()
	switch s := q.Get("status"); s {
	case "", string(domain.StatusCreated), string(domain.StatusStarted), string(domain.StatusCompleted):
		f.Status = s
	default:
		return f, domain.Invalid("status", "must be one of created, started, completed")
	}
	if s := q.Get("is_active"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return f, domain.Invalid("is_active", "must be true or false")
		}
		f.IsActive = &b
	}
	return f, nil
}
