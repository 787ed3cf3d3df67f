package web

import (
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// mailingList is what the list page shows.
type mailingList struct {
	Status string // the filters: "" for any
	Active string // "yes", "no" or ""
	Owner  uuid.UUID
	// AllOwners says the caller sees everyone's mailings: the list has an
	// owner column and filter.
	AllOwners bool
	Owners    []ownerChoice
	Rows      []mailingItem
	Next      string // the next page's URL, "" on the last
}

// ownerChoice is one option of the owner filter.
type ownerChoice struct {
	ID       uuid.UUID
	Label    string
	Selected bool
}

// listMailings is GET /mailings: the mailings the caller may read, as
// GET /api/v1/mailings lists them; ?status=, ?active= (yes or no) and, for
// staff who see everyone's, ?owner= filter it, ?after= is the cursor.
func (h *Handler) listMailings(w http.ResponseWriter, r *http.Request) {
	p, q := principal(r), r.URL.Query()
	l := mailingList{AllOwners: access.CanListAll(p, access.Mailing)}
	var f projections.MailingFilter
	switch s := domain.MailingStatus(q.Get("status")); s {
	case domain.StatusCreated, domain.StatusStarted, domain.StatusCompleted:
		f.Status, l.Status = string(s), string(s)
	}
	switch q.Get("active") {
	case "yes":
		f.IsActive, l.Active = new(true), "yes"
	case "no":
		f.IsActive, l.Active = new(false), "no"
	}
	scope := access.ReadScope(p, access.Mailing)
	if id, err := uuid.Parse(q.Get("owner")); err == nil && l.AllOwners {
		scope.Owner, l.Owner = id, id
	}
	after, _ := uuid.Parse(q.Get("after"))
	rows, next, err := h.mailingRows.ListMailings(r.Context(), scope, f, projections.IDPage{Limit: mailingsPerPage, After: after})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.view(w, r)
	owners := ownerLabels{}
	if l.Rows, err = h.mailingItems(r, v, rows, r.URL.RequestURI(), owners); err == nil && l.AllOwners {
		l.Owners, err = h.ownerChoices(r, l, owners)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if next != uuid.Nil {
		l.Next = "/mailings?" + l.query(next).Encode()
	}
	v.Data = l
	h.render(w, r, http.StatusOK, "mailings", v)
}

// query is the list's filters, with the cursor after.
func (l mailingList) query(after uuid.UUID) url.Values {
	p := url.Values{}
	if l.Status != "" {
		p.Set("status", l.Status)
	}
	if l.Active != "" {
		p.Set("active", l.Active)
	}
	if l.Owner != uuid.Nil {
		p.Set("owner", l.Owner.String())
	}
	if after != uuid.Nil {
		p.Set("after", after.String())
	}
	return p
}

// ownerChoices are the owners of the page's mailings and the one filtered
// by, each once.
func (h *Handler) ownerChoices(r *http.Request, l mailingList, owners ownerLabels) ([]ownerChoice, error) {
	var out []ownerChoice
	add := func(id uuid.UUID) error {
		for _, c := range out {
			if c.ID == id {
				return nil
			}
		}
		label, err := h.ownerLabel(r, id, owners)
		out = append(out, ownerChoice{ID: id, Label: label, Selected: id == l.Owner})
		return err
	}
	if l.Owner != uuid.Nil {
		if err := add(l.Owner); err != nil {
			return nil, err
		}
	}
	for _, m := range l.Rows {
		if err := add(m.OwnerID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Filtered reports whether a filter narrows the list.
func (l mailingList) Filtered() bool {
	return l.Status != "" || l.Active != "" || l.Owner != uuid.Nil
}
