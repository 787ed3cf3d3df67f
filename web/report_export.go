package web

import (
	"net/http"

	"github.com/heraldmail/herald/projections"
)

// exportReports is GET /reports/mailings.csv: the whole report in the
// page's scope, the very CSV GET /api/v1/reports/mailings?format=csv
// streams. The status line goes out with the first line; a failure after
// it aborts the response, so the browser sees a broken download rather
// than a short file.
func (h *Handler) exportReports(w http.ResponseWriter, r *http.Request) {
	scope := reportScope(r)
	began, n, err := projections.WriteReportCSV(w, func(fn func(projections.MailingReport) error) error {
		return h.reports.EachMailingReport(r.Context(), scope, fn)
	}, func() {
		w.Header().Set("Content-Type", projections.ReportCSVType)
		w.Header().Set("Content-Disposition", "attachment; filename="+projections.ReportCSVName)
		w.WriteHeader(http.StatusOK)
	})
	switch {
	case err == nil:
	case !began:
		h.fail(w, r, err)
	default:
		h.log.Error().Err(err).Int("rows", n).Msg("report export failed midway")
		panic(http.ErrAbortHandler)
	}
}
