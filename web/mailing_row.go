package web

import (
	"bytes"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// mailingItem is one row of the mailing list: the mailing, what it sends,
// and which of the row's buttons the caller may use (access's policy).
type mailingItem struct {
	V *View // the page's view: the row is also rendered alone, for htmx
	projections.MailingRow
	Subject   string // "" when the caller may not read the message
	Owner     string // the owner's label, on the list of everyone's
	ShowOwner bool
	NextRun   time.Time
	CanChange bool // edit and delete
	CanToggle bool
	CanSend   bool
	Back      string // the list page the row's forms return to
	Problem   string // a message id: why the last action on the row was refused
}

// statusKey is the message of each mailing status.
var statusKey = map[string]string{
	string(domain.StatusCreated):   "page.mailings.status_created",
	string(domain.StatusStarted):   "page.mailings.status_started",
	string(domain.StatusCompleted): "page.mailings.status_completed",
}

// StatusText is the mailing's status in the page's language.
func (i mailingItem) StatusText() string { return i.V.T(statusKey[i.Status]) }

// Recipients is how many clients the mailing lists (none when it sends to
// every client: AllClients).
func (i mailingItem) Recipients() int64 { return int64(len(i.ClientIDs)) }

// Completed reports whether the mailing will not send again: it can be
// neither enabled nor sent.
func (i mailingItem) Completed() bool { return i.Status == string(domain.StatusCompleted) }

// ownerLabels caches the owners' labels of one page.
type ownerLabels map[uuid.UUID]string

// mailingItems prepares the rows of a page of mailings for the caller;
// back is the list page their forms return to.
func (h *Handler) mailingItems(r *http.Request, v *View, rows []projections.MailingRow, back string, owners ownerLabels) ([]mailingItem, error) {
	p := v.Who
	all := access.CanListAll(p, access.Mailing)
	subjects := map[uuid.UUID]string{}
	items := make([]mailingItem, 0, len(rows))
	for _, m := range rows {
		subject, ok := subjects[m.MessageID]
		if !ok {
			msg, err := h.mailingRows.GetMessage(r.Context(), access.ReadScope(p, access.Message), m.MessageID)
			if err != nil && !errors.Is(err, domain.ErrNotFound) {
				return nil, err
			}
			subject, subjects[m.MessageID] = msg.Subject, msg.Subject
		}
		it := mailingItem{V: v, MailingRow: m, Subject: subject, ShowOwner: all, Back: back,
			CanChange: access.CanChange(p, m.OwnerID), CanToggle: access.CanToggleMailing(p, m.OwnerID),
			CanSend: access.Owns(p, m.OwnerID)}
		if m.NextRunAt != nil {
			it.NextRun = *m.NextRunAt
		}
		if all {
			var err error
			if it.Owner, err = h.ownerLabel(r, m.OwnerID, owners); err != nil {
				return nil, err
			}
		}
		items = append(items, it)
	}
	return items, nil
}

// ownerLabel names an owner on the list of everyone's mailings: the email
// to whoever may read the account, else its id.
func (h *Handler) ownerLabel(r *http.Request, id uuid.UUID, cache ownerLabels) (string, error) {
	if l, ok := cache[id]; ok {
		return l, nil
	}
	label := id.String()
	if access.CanRead(principal(r), access.User, id) {
		a, err := h.id.Account(r.Context(), id)
		switch {
		case err == nil:
			label = a.Email
		case !errors.Is(err, domain.ErrNotFound):
			return "", err
		}
	}
	cache[id] = label
	return label, nil
}

// renderMailingRow answers htmx with the mailing's row alone, as the list
// would show it now; problem is a message id saying why the action was
// refused, or "".
func (h *Handler) renderMailingRow(w http.ResponseWriter, r *http.Request, id uuid.UUID, problem string) {
	m, err := h.readableMailing(r, id)
	if h.refuseMailing(w, r, err) {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// A view of its own: a fragment shows no flash, so it leaves a pending
	// one for the next page.
	p, l := principal(r), localeOf(r)
	v := &View{Lang: l.lang, Path: returnTo(r), Signed: p.Authenticated(), Who: p, loc: l, tz: timeZone(r)}
	items, err := h.mailingItems(r, v, []projections.MailingRow{m}, returnTo(r), ownerLabels{})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	items[0].Problem = problem
	var buf bytes.Buffer
	t, _ := h.pages.page(v.Lang, "mailings")
	if err := t.ExecuteTemplate(&buf, "mailing_row", items[0]); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Add("Vary", "HX-Request")
	_, _ = w.Write(buf.Bytes())
}
