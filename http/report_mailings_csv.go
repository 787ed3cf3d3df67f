package http

import (
	"net/http"

	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/projections"
)

// exportCSV streams every line of the report in scope. The status line goes
// out with the first row; a failure after that aborts the response, so the
// client sees a broken transfer rather than a short file.
func (h *Reports) exportCSV(w http.ResponseWriter, r *http.Request, scope projections.OwnerScope) {
	began, n, err := projections.WriteReportCSV(w, func(fn func(projections.MailingReport) error) error {
		return h.q.EachMailingReport(r.Context(), scope, fn)
	}, func() {
		w.Header().Set("Content-Type", projections.ReportCSVType)
		w.Header().Set("Content-Disposition", "attachment; filename="+projections.ReportCSVName)
		w.WriteHeader(http.StatusOK)
	})
	if err == nil {
		return
	}
	if !began {
		respondError(w, r, err)
		return
	}
	zerolog.Ctx(r.Context()).Error().Err(err).Int("rows", n).Msg("report export failed midway")
	panic(http.ErrAbortHandler)
}
