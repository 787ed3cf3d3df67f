package web

import (
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// manageMailings is what /manage/mailings shows.
type manageMailings struct {
	Nav      manageNav
	Owner    ownerFilter
	Status   string
	Mailings []manageMailing
	Next     string // the next page's URL, "" on the last
}

// manageMailing is one mailing of the list.
type manageMailing struct {
	projections.MailingRow
	Owner string // the owner's email, or id
	// CanToggle shows its Enable or Disable button (access's policy: the
	// owner, or anyone holding mailings.toggle).
	CanToggle bool
}

// Completed reports whether the mailing has sent its last run (it can no
// longer be enabled).
func (m manageMailing) Completed() bool { return m.Status == string(domain.StatusCompleted) }

// listAllMailings is GET /manage/mailings, as GET /api/v1/mailings for
// staff with mailings.view_all: everyone's mailings, ?owner= one owner's
// (an id, or an account's email), ?status= those in one state.
func (h *Handler) listAllMailings(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if !access.CanListAll(p, access.Mailing) {
		h.showNotAllowed(w, r)
		return
	}
	owner, err := h.ownerFilter(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l := manageMailings{Nav: manageNavOf(p), Owner: owner}
	var f projections.MailingFilter
	switch s := r.URL.Query().Get("status"); s {
	case string(domain.StatusCreated), string(domain.StatusStarted), string(domain.StatusCompleted):
		f.Status, l.Status = s, s
	}
	if !owner.Unknown {
		scope := access.ReadScope(p, access.Mailing)
		scope.Owner = owner.ID
		after, _ := uuid.Parse(r.URL.Query().Get("after"))
		rows, next, err := h.mailingRows.ListMailings(r.Context(), scope, f, projections.IDPage{Limit: managePerPage, After: after})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if l.Mailings, err = h.manageMailingItems(r, rows); err != nil {
			h.fail(w, r, err)
			return
		}
		if next != uuid.Nil {
			v := url.Values{"after": {next.String()}}
			if owner.Text != "" {
				v.Set("owner", owner.Text)
			}
			if l.Status != "" {
				v.Set("status", l.Status)
			}
			l.Next = "/manage/mailings?" + v.Encode()
		}
	}
	v := h.view(w, r)
	v.Data = l
	h.render(w, r, http.StatusOK, "manage_mailings", v)
}

// manageMailingItems names the rows' owners and says which the caller may toggle.
func (h *Handler) manageMailingItems(r *http.Request, rows []projections.MailingRow) ([]manageMailing, error) {
	owners := make([]uuid.UUID, 0, len(rows))
	for _, m := range rows {
		owners = append(owners, m.OwnerID)
	}
	names, err := h.ownerNames(r, owners)
	if err != nil {
		return nil, err
	}
	items := make([]manageMailing, len(rows))
	for i, m := range rows {
		items[i] = manageMailing{MailingRow: m, Owner: names[m.OwnerID], CanToggle: access.CanToggleMailing(principal(r), m.OwnerID)}
	}
	return items, nil
}
