package web

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/projections"
)

// reportList is what the report page shows.
type reportList struct {
	Summary projections.ReportSummary
	Rows    []reportRow
	// Owners adds the owner column: the caller sees everyone's mailings.
	Owners bool
	Owner  string // the one owner the report is narrowed to, or ""
	Next   string // the next page's URL, "" on the last
	CSV    string // the download of the whole report in the same scope
}

// reportRow is one mailing's line with the message of its status.
type reportRow struct {
	projections.MailingReport
	StatusKey string
}

// listReports is GET /reports: the summary and one page of the per-mailing
// report (?after= the cursor, ?owner_id= narrowing staff's view).
func (h *Handler) listReports(w http.ResponseWriter, r *http.Request) {
	scope := reportScope(r)
	after, _ := uuid.Parse(r.URL.Query().Get("after"))
	sum, err := h.reports.Summary(r.Context(), scope)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	items, next, err := h.reports.ListMailingReports(r.Context(), scope, projections.IDPage{Limit: reportsPerPage, After: after})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l := reportList{Summary: sum, Owners: access.CanListAll(principal(r), access.Report),
		CSV: reportURL("/reports/mailings.csv", scope, uuid.Nil)}
	if scope.Owner != uuid.Nil {
		l.Owner = scope.Owner.String()
	}
	for _, m := range items {
		l.Rows = append(l.Rows, reportRow{MailingReport: m, StatusKey: reportStatus[m.Status]})
	}
	if next != uuid.Nil {
		l.Next = reportURL("/reports", scope, next)
	}
	v := h.view(w, r)
	v.Data = l
	h.render(w, r, http.StatusOK, "reports", v)
}
