package app

import (
	api "github.com/heraldmail/herald/http"
	"github.com/heraldmail/herald/internal/history"
	"github.com/heraldmail/herald/projections"
)

// wireReports wires reports and history: the reports projector
// and its queries behind GET /reports/mailings and /reports/summary, and
// the audit replay behind GET /mailings/{id}/history.
func wireReports(a *App) error {
	q, err := projections.NewReportQueries(a.Pool)
	if err != nil {
		return err
	}
	reports, err := api.NewReports(q)
	if err != nil {
		return err
	}
	hr, err := history.NewReader(a.Store)
	if err != nil {
		return err
	}
	hist, err := api.NewHistory(hr)
	if err != nil {
		return err
	}
	a.Areas.Reports, a.Areas.History = reports, hist
	a.reportQueries = q
	a.Projectors = append(a.Projectors, projections.ReportsProjector{})
	return nil
}
