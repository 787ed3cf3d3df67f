package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/identity"
	"github.com/heraldmail/herald/projections"
)

// The managers' pages (/manage/...) show everyone's accounts, mailings and
// mailing reports to staff. Who may see and do what is package access's
// policy, the one the JSON API applies: a list the API refuses with 403
// (GET /api/v1/users to anyone but staff holding users.view_all, say) is the
// 403 page here, and so is an action the caller may not take.

// managePerPage is the length of one page of a staff list.
const managePerPage = 20

// requireStaff refuses every managers' page to anyone who is not staff.
func (h *Handler) requireStaff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !access.IsStaff(principal(r)) {
			h.showNotAllowed(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// showNotAllowed answers a page or action the caller's account may not use.
func (h *Handler) showNotAllowed(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusForbidden, "manage_forbidden", h.view(w, r))
}

// manageNav is the managers' pages' own menu: a link to each list the
// caller may read.
type manageNav struct {
	Users, Mailings, Reports bool
}

func manageNavOf(p identity.Principal) manageNav {
	return manageNav{Users: access.CanListAll(p, access.User), Mailings: access.CanListAll(p, access.Mailing),
		Reports: access.CanListAll(p, access.Report)}
}

// manageID is the {id} of the path; ok is false when it is no UUID.
func manageID(r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	return id, err == nil
}

// settleOn waits briefly for projector to apply a change, so the list the
// browser is sent back to shows it; a slow projector only makes the list
// lag, never fails the change.
func (h *Handler) settleOn(r *http.Request, projector string, res eventstore.Result) {
	if h.waiter == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := h.waiter.WaitFor(ctx, []string{projector}, res.LastPosition); err != nil {
		h.log.Warn().Err(err).Str("projector", projector).Int64("position", res.LastPosition).
			Msg("read model lags behind a staff page's change")
	}
}

// manageRefusal is the flash of a staff action the core refused by one of
// its rules; ok is false for errors no one can act on.
func manageRefusal(err error) (flash string, ok bool) {
	switch {
	case errors.Is(err, domain.ErrBlockSelf):
		return "flash.manage_block_self", true
	case errors.Is(err, domain.ErrSuperuserToggle):
		return "flash.manage_superuser_only", true
	case errors.Is(err, domain.ErrMailingCompleted):
		return "flash.manage_mailing_completed", true
	case errors.Is(err, domain.ErrConflict):
		return "flash.manage_changed", true
	}
	return "", false
}

// ownerFilter is the ?owner= of the mailings and reports lists: an owner's
// id, or the email of an account, looked up only by those who may list
// accounts. unknown is true when it names nobody the caller may name.
type ownerFilter struct {
	Text    string
	ID      uuid.UUID
	Unknown bool
}

func (h *Handler) ownerFilter(r *http.Request) (ownerFilter, error) {
	f := ownerFilter{Text: strings.TrimSpace(r.URL.Query().Get("owner"))}
	if f.Text == "" {
		return f, nil
	}
	if len(f.Text) > domain.EmailMaxLen || domain.CheckText(f.Text) != "" {
		f.Unknown = true
		return f, nil
	}
	if id, err := uuid.Parse(f.Text); err == nil {
		f.ID = id
		return f, nil
	}
	if !access.CanListAll(principal(r), access.User) {
		f.Unknown = true
		return f, nil
	}
	page := projections.IDPage{Limit: 100}
	for {
		rows, next, err := h.userRows.SearchUsers(r.Context(), f.Text, page)
		if err != nil {
			return f, err
		}
		for _, u := range rows {
			if strings.EqualFold(u.Email, f.Text) {
				f.ID = u.ID
				return f, nil
			}
		}
		if next == uuid.Nil {
			f.Unknown = true
			return f, nil
		}
		page.After = next
	}
}

// ownerNames names the owners of a staff list: their emails for those who
// may list accounts, else their ids.
func (h *Handler) ownerNames(r *http.Request, owners []uuid.UUID) (map[uuid.UUID]string, error) {
	names := make(map[uuid.UUID]string, len(owners))
	for _, id := range owners {
		names[id] = id.String()
	}
	if len(owners) == 0 || !access.CanListAll(principal(r), access.User) {
		return names, nil
	}
	rows, err := h.userRows.UsersByID(r.Context(), owners)
	if err != nil {
		return nil, err
	}
	for id, u := range rows {
		names[id] = u.Email
	}
	return names, nil
}
