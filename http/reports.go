package http

import (
	"context"
	"encoding/csv"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// ReportReader reads the reports read model (projections.ReportQueries).
type ReportReader interface {
	ListMailingReports(ctx context.Context, s projections.OwnerScope, p projections.IDPage) ([]projections.MailingReport, uuid.UUID, error)
	EachMailingReport(ctx context.Context, s projections.OwnerScope, fn func(projections.MailingReport) error) error
	Summary(ctx context.Context, s projections.OwnerScope) (projections.ReportSummary, error)
}

// Reports serves GET /reports/mailings (JSON pages, or the whole scope as
// CSV) and GET /reports/summary.
type Reports struct{ q ReportReader }

// NewReports returns the area.
func NewReports(q ReportReader) (*Reports, error) {
	if q == nil {
		return nil, errors.New("http: reports need the report queries")
	}
	return &Reports{q: q}, nil
}

// reportScope is whose mailings a report covers: the caller's own, or
// everyone's for staff allowed reports.view_all (?owner_id= narrows).
func reportScope(r *http.Request) (projections.OwnerScope, error) {
	p := principal(r)
	s := projections.OwnerScope{Caller: p.UserID, All: canViewAllReports(p)}
	if raw := r.URL.Query().Get("owner_id"); raw != "" {
		id, err := uuid.Parse(raw)
		if err != nil {
			return s, domain.Invalid("owner_id", "must be a UUID")
		}
		s.Owner = id
	}
	return s, nil
}

// wantsCSV: ?format=csv, or an Accept header naming text/csv (?format=json
// wins over Accept).
func wantsCSV(r *http.Request) (bool, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, domain.Invalid("format", "must be json or csv")
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, params, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" && params["q"] != "0" {
			return true, nil
		}
	}
	return false, nil
}

// mailingReports is one page of the report of each mailing in scope, or
// the whole report as CSV.
func (h *Reports) mailingReports(w http.ResponseWriter, r *http.Request) {
	scope, err := reportScope(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	asCSV, err := wantsCSV(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	if asCSV {
		h.exportCSV(w, r, scope)
		return
	}
	page, err := listPage(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	items, next, err := h.q.ListMailingReports(r.Context(), scope, page)
	if err != nil {
		respondError(w, r, err)
		return
	}
	respondPage(w, r, items, nextCursor(next))
}

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

func (h *Reports) summary(w http.ResponseWriter, r *http.Request) {
	scope, err := reportScope(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	s, err := h.q.Summary(r.Context(), scope)
	if err != nil {
		respondError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, s)
}
