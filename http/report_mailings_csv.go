package http

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/projections"
)

// ReportCSVHeader is the first line of the CSV export: the JSON field names.
var ReportCSVHeader = []string{"mailing_id", "owner_id", "status", "runs", "attempts_total", "attempts_success",
	"attempts_failure", "last_attempt_at", "deferred"}

// exportCSV streams every line of the report in scope. The status line goes
// out with the first row; a failure after that aborts the response, so the
// client sees a broken transfer rather than a short file.
func (h *Reports) exportCSV(w http.ResponseWriter, r *http.Request, scope projections.OwnerScope) {
	cw := csv.NewWriter(w)
	started := false
	start := func() error {
		if started {
			return nil
		}
		started = true
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename=mailing-report.csv`)
		w.WriteHeader(http.StatusOK)
		return cw.Write(ReportCSVHeader)
	}
	n := 0
	err := h.q.EachMailingReport(r.Context(), scope, func(m projections.MailingReport) error {
		if err := start(); err != nil {
			return err
		}
		last := ""
		if m.LastAttemptAt != nil {
			last = m.LastAttemptAt.UTC().Format(time.RFC3339Nano)
		}
		if err := cw.Write([]string{m.MailingID.String(), m.OwnerID.String(), m.Status, strconv.FormatInt(m.Runs, 10),
			strconv.FormatInt(m.AttemptsTotal, 10), strconv.FormatInt(m.AttemptsSuccess, 10),
			strconv.FormatInt(m.AttemptsFailure, 10), last, strconv.FormatInt(m.Deferred, 10)}); err != nil {
			return err
		}
		if n++; n%500 == 0 {
			cw.Flush()
			return cw.Error()
		}
		return nil
	})
	if err == nil {
		err = start()
	}
	if err == nil {
		cw.Flush()
		err = cw.Error()
	}
	if err == nil {
		return
	}
	if !started {
		respondError(w, r, err)
		return
	}
	zerolog.Ctx(r.Context()).Error().Err(err).Int("rows", n).Msg("report export failed midway")
	panic(http.ErrAbortHandler)
}
