package http

import (
	"context"
	"errors"

	"github.com/google/uuid"

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
