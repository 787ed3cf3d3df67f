package web

import (
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/projections"
)

// manageReports is what /manage/reports shows.
type manageReports struct {
	Nav     manageNav
	Owner   ownerFilter
	Summary projections.ReportSummary
	Reports []manageReport
	Next    string // the next page's URL, "" on the last
}

// manageReport is the report of one mailing.
type manageReport struct {
	projections.MailingReport
	Owner string // the owner's email, or id
}

// listAllReports is GET /manage/reports, as GET /api/v1/reports/summary
// and /reports/mailings for staff with reports.view_all: the totals and
// each mailing's report over everyone's mailings, ?owner= one owner's.
func (h *Handler) listAllReports(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if !access.CanListAll(p, access.Report) {
		h.showNotAllowed(w, r)
		return
	}
	owner, err := h.ownerFilter(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l := manageReports{Nav: manageNavOf(p), Owner: owner}
	if !owner.Unknown {
		scope := access.ReadScope(p, access.Report)
		scope.Owner = owner.ID
		if l.Summary, err = h.reports.Summary(r.Context(), scope); err != nil {
			h.fail(w, r, err)
			return
		}
		after, _ := uuid.Parse(r.URL.Query().Get("after"))
		rows, next, err := h.reports.ListMailingReports(r.Context(), scope, projections.IDPage{Limit: managePerPage, After: after})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		owners := make([]uuid.UUID, 0, len(rows))
		for _, m := range rows {
			owners = append(owners, m.OwnerID)
		}
		names, err := h.ownerNames(r, owners)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, m := range rows {
			l.Reports = append(l.Reports, manageReport{MailingReport: m, Owner: names[m.OwnerID]})
		}
		if next != uuid.Nil {
			v := url.Values{"after": {next.String()}}
			if owner.Text != "" {
				v.Set("owner", owner.Text)
			}
			l.Next = "/manage/reports?" + v.Encode()
		}
	}
	v := h.view(w, r)
	v.Data = l
	h.render(w, r, http.StatusOK, "manage_reports", v)
}
