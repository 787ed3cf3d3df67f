package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/history"
)

// showMailing is GET /mailings/{id}: the mailing's setting and state, its
// runs (re-fetched while one sends), its delivery attempts failures first,
// its history and its report. ?at=<RFC 3339 time> shows its state as of
// that instant, replayed from its events (and the runs begun by then);
// ?attempts= pages the attempts.
// Someone who may not read it gets the 404 page.
func (h *Handler) showMailing(w http.ResponseWriter, r *http.Request) {
	id, ok := shownMailingID(r)
	if !ok {
		h.showNotFound(w, r)
		return
	}
	q := r.URL.Query()
	var o history.Options
	// An instant this page did not link to shows the state now.
	if at, err := time.Parse(time.RFC3339Nano, q.Get("at")); err == nil {
		o.At = &at
	}
	doc, ok := h.shownMailing(w, r, id, o)
	if !ok {
		return
	}
	ctx, who := r.Context(), principal(r)
	d := &mailingDetail{ID: id, At: doc.At, Progress: detailProgressOf(doc)}
	if d.At == nil {
		d.Header = h.currentHeader(w, r, doc)
		if d.Header == nil {
			return
		}
	} else {
		d.Header = detailHeaderOfState(doc.State)
		d.Progress.Polling = false // the past does not change
	}
	if d.Header != nil {
		msg, err := h.mailingRows.GetMessage(ctx, access.ReadScope(who, access.Message), d.Header.MessageID)
		switch {
		case err == nil:
			d.Header.Subject = msg.Subject
		case !errors.Is(err, domain.ErrNotFound):
			h.fail(w, r, err)
			return
		}
	}
	if d.Current() && d.Header != nil && !d.Header.Deleted {
		live := d.Header.IsActive && d.Header.Status != string(domain.StatusCompleted)
		d.CanEdit = access.CanChange(who, doc.OwnerID)
		d.CanToggle = access.CanToggleMailing(who, doc.OwnerID) && d.Header.Status != string(domain.StatusCompleted)
		d.CanSend = access.Owns(who, doc.OwnerID) && live
	}

	page := detailAttemptsPage(q.Get("attempts"))
	rows, next, err := h.attempts.ListAttempts(ctx, access.ReadScope(who, access.Mailing), id, page)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, a := range rows {
		d.Attempts = append(d.Attempts, detailAttempt{a})
	}
	if next != 0 {
		p := url.Values{"attempts": {detailAttemptsCursor(rows[len(rows)-1], next)}}
		if d.At != nil {
			p.Set("at", d.AtParam())
		}
		d.AttemptsNext = "/mailings/" + id.String() + "?" + p.Encode() + "#attempts"
	}

	d.Events = h.detailTimeline(ctx, r, doc, d.At)
	rep, err := h.mailingReports.GetMailingReport(ctx, access.ReadScope(who, access.Report), id)
	switch {
	case err == nil:
		d.Report = &rep
	case !errors.Is(err, domain.ErrNotFound):
		h.fail(w, r, err)
		return
	}
	v := h.view(w, r)
	v.Data = d
	h.render(w, r, http.StatusOK, "mailing", v)
}

// currentHeader is the mailing as the read model has it (with its next
// run), or, when it is deleted or the read model does not have it yet, as
// its events say now; nil once the error page is written.
func (h *Handler) currentHeader(w http.ResponseWriter, r *http.Request, doc history.Document) *detailHeader {
	deleted := slices.ContainsFunc(doc.Events, func(e history.Entry) bool { return e.Type == "mailing.deleted" })
	if !deleted {
		row, err := h.mailingRows.GetMailing(r.Context(), access.ReadScope(principal(r), access.Mailing), doc.MailingID)
		if err == nil {
			return detailHeaderOfRow(row)
		}
		if !errors.Is(err, domain.ErrNotFound) {
			h.fail(w, r, err)
			return nil
		}
	}
	now := time.Now()
	replayed, err := h.history.Mailing(r.Context(), doc.MailingID, history.Options{At: &now})
	if err != nil {
		h.fail(w, r, err)
		return nil
	}
	if replayed.State == nil {
		h.fail(w, r, errors.New("web: mailing "+doc.MailingID.String()+" has events but no state"))
		return nil
	}
	return detailHeaderOfState(replayed.State)
}
