package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldmail/herald/domain"
)

// MailingReport is one mailing's line of the report.
type MailingReport struct {
	MailingID       uuid.UUID  `json:"mailing_id"`
	OwnerID         uuid.UUID  `json:"owner_id"`
	Status          string     `json:"status"`
	Runs            int64      `json:"runs"`
	AttemptsTotal   int64      `json:"attempts_total"`
	AttemptsSuccess int64      `json:"attempts_success"`
	AttemptsFailure int64      `json:"attempts_failure"`
	LastAttemptAt   *time.Time `json:"last_attempt_at"`
	// Deferred counts deliveries waiting for a retry after a temporary
	// failure (4xx, no answer).
	Deferred int64 `json:"deferred"`
	// AttemptsSkipped counts deliveries not made: the client unsubscribed
	// or its address is suppressed. Bounced counts the failures with a 5xx
	// reply (hard bounces, which suppress an address in the end).
	AttemptsSkipped int64 `json:"attempts_skipped"`
	Bounced         int64 `json:"bounced"`
}

// ReportSummary is the report's totals over a scope.
type ReportSummary struct {
	MailingsTotal   int64      `json:"mailings_total"`
	Runs            int64      `json:"runs"`
	AttemptsTotal   int64      `json:"attempts_total"`
	AttemptsSuccess int64      `json:"attempts_success"`
	AttemptsFailure int64      `json:"attempts_failure"`
	LastAttemptAt   *time.Time `json:"last_attempt_at"`
	ClientsTotal    int64      `json:"clients_total"`
	MessagesTotal   int64      `json:"messages_total"`
	Deferred        int64      `json:"deferred"`
	AttemptsSkipped int64      `json:"attempts_skipped"`
	Bounced         int64      `json:"bounced"`
}

// RunSummary is one run of a mailing as the audit replay shows it.
type RunSummary struct {
	RunID      uuid.UUID  `json:"run_id"`
	Status     string     `json:"status"` // started | finished | skipped
	Trigger    string     `json:"trigger,omitempty"`
	DueAt      time.Time  `json:"due_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	SkippedAt  *time.Time `json:"skipped_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Clients    int64      `json:"clients"`
	// Sent and Failed count the clients that got the message and those the
	// run gave up on: so far while it is started, its own figures once it
	// finished.
	Sent            int64      `json:"sent"`
	Failed          int64      `json:"failed"`
	Note            string     `json:"note,omitempty"` // why it stopped early or was skipped
	AttemptsTotal   int64      `json:"attempts_total"`
	AttemptsSuccess int64      `json:"attempts_success"`
	AttemptsFailure int64      `json:"attempts_failure"`
	LastAttemptAt   *time.Time `json:"last_attempt_at"`
	Deferred        int64      `json:"deferred"` // deliveries waiting for a retry
	AttemptsSkipped int64      `json:"attempts_skipped"`
	Bounced         int64      `json:"bounced"`
}

// ReportQueries reads the report tables. Deleted mailings, and mailings
// whose creation the projector has not applied yet, are not reported.
type ReportQueries struct{ pool *pgxpool.Pool }

// NewReportQueries returns the queries over pool.
func NewReportQueries(pool *pgxpool.Pool) (*ReportQueries, error) {
	if pool == nil {
		return nil, fmt.Errorf("projections: report queries need a pool")
	}
	return &ReportQueries{pool: pool}, nil
}

const selectReports = `SELECT mailing_id, owner_id, status, runs, attempts_total, attempts_success, attempts_failure, last_attempt_at, deferred,
attempts_skipped, bounced FROM report_mailings`

func scanReport(row pgx.CollectableRow) (MailingReport, error) {
	var m MailingReport
	err := row.Scan(&m.MailingID, &m.OwnerID, &m.Status, &m.Runs, &m.AttemptsTotal, &m.AttemptsSuccess, &m.AttemptsFailure, &m.LastAttemptAt, &m.Deferred,
		&m.AttemptsSkipped, &m.Bounced)
	m.LastAttemptAt = utcPtr(m.LastAttemptAt)
	return m, err
}

// ownerConds are the owner conditions of a scope, " AND owner_id = $n"…
func ownerConds(s OwnerScope) (string, []any) {
	var q string
	var args []any
	if !s.All {
		args = append(args, s.Caller)
		q += fmt.Sprintf(" AND owner_id = $%d", len(args))
	}
	if s.Owner != uuid.Nil {
		args = append(args, s.Owner)
		q += fmt.Sprintf(" AND owner_id = $%d", len(args))
	}
	return q, args
}

// reportWhere is the scope of a report: live, created mailings the scope sees.
func reportWhere(s OwnerScope) (string, []any) {
	q, args := ownerConds(s)
	return " WHERE NOT deleted AND version > 0" + q, args
}

// ListMailingReports returns one page of the per-mailing report in mailing
// id (creation) order and the next page's cursor (Nil on the last page).
func (q *ReportQueries) ListMailingReports(ctx context.Context, s OwnerScope, p IDPage) ([]MailingReport, uuid.UUID, error) {
	w, args := reportWhere(s)
	if p.After != uuid.Nil {
		args = append(args, p.After)
		w += fmt.Sprintf(" AND mailing_id > $%d", len(args))
	}
	args = append(args, p.Limit+1)
	rows, err := q.pool.Query(ctx, selectReports+w+fmt.Sprintf(" ORDER BY mailing_id LIMIT $%d", len(args)), args...)
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("list mailing reports: %w", err)
	}
	items, err := pgx.CollectRows(rows, scanReport)
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("list mailing reports: %w", err)
	}
	items, next := pageOf(items, p, func(m MailingReport) uuid.UUID { return m.MailingID })
	return items, next, nil
}

// GetMailingReport returns one mailing's line of the report, or an
// ErrNotFound error when the scope does not see it (deleted, not created
// yet as far as the projector knows, or someone else's).
func (q *ReportQueries) GetMailingReport(ctx context.Context, s OwnerScope, id uuid.UUID) (MailingReport, error) {
	w, args := reportWhere(s)
	args = append(args, [16]byte(id))
	rows, err := q.pool.Query(ctx, selectReports+w+fmt.Sprintf(" AND mailing_id = $%d", len(args)), args...)
	if err != nil {
		return MailingReport{}, fmt.Errorf("get mailing report: %w", err)
	}
	m, err := pgx.CollectExactlyOneRow(rows, scanReport)
	if errors.Is(err, pgx.ErrNoRows) {
		return MailingReport{}, domain.NotFound("mailing report")
	}
	if err != nil {
		return MailingReport{}, fmt.Errorf("get mailing report: %w", err)
	}
	return m, nil
}

// EachMailingReport calls fn with every line of the report in scope, in
// mailing id order, reading the rows as they come (an export of any size
// holds one row in memory). An error from fn stops it.
func (q *ReportQueries) EachMailingReport(ctx context.Context, s OwnerScope, fn func(MailingReport) error) error {
	w, args := reportWhere(s)
	rows, err := q.pool.Query(ctx, selectReports+w+" ORDER BY mailing_id", args...)
	if err != nil {
		return fmt.Errorf("export mailing reports: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanReport(rows)
		if err != nil {
			return fmt.Errorf("export mailing reports: %w", err)
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export mailing reports: %w", err)
	}
	return nil
}

// Summary sums the per-mailing report over the scope and adds the clients
// and messages its owners keep.
func (q *ReportQueries) Summary(ctx context.Context, s OwnerScope) (ReportSummary, error) {
	var sum ReportSummary
	w, args := reportWhere(s)
	err := q.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(runs), 0)::bigint, coalesce(sum(attempts_total), 0)::bigint,
coalesce(sum(attempts_success), 0)::bigint, coalesce(sum(attempts_failure), 0)::bigint, max(last_attempt_at),
coalesce(sum(deferred), 0)::bigint, coalesce(sum(attempts_skipped), 0)::bigint, coalesce(sum(bounced), 0)::bigint
FROM report_mailings`+w, args...).Scan(&sum.MailingsTotal, &sum.Runs, &sum.AttemptsTotal, &sum.AttemptsSuccess,
		&sum.AttemptsFailure, &sum.LastAttemptAt, &sum.Deferred, &sum.AttemptsSkipped, &sum.Bounced)
	if err != nil {
		return sum, fmt.Errorf("report summary: %w", err)
	}
	sum.LastAttemptAt = utcPtr(sum.LastAttemptAt)
	ow, args := ownerConds(s)
	err = q.pool.QueryRow(ctx, `SELECT coalesce(sum(clients_total), 0)::bigint, coalesce(sum(messages_total), 0)::bigint
FROM report_owners WHERE true`+ow, args...).Scan(&sum.ClientsTotal, &sum.MessagesTotal)
	if err != nil {
		return sum, fmt.Errorf("report summary: %w", err)
	}
	return sum, nil
}

// Querier is what the run summaries are read through: a pool, a
// connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// MailingRuns returns the runs of a mailing, oldest first, as the reports
// projector knows them. It takes a Querier so the `herald history` command
// can read them over its own connection. The caller has checked the scope.
func MailingRuns(ctx context.Context, db Querier, mailingID uuid.UUID) ([]RunSummary, error) {
	rows, err := db.Query(ctx, `SELECT run_id, status, trigger, due_at, at, finished_at, clients, sent, failed, note,
attempts_total, attempts_success, attempts_failure, last_attempt_at, deferred, attempts_skipped, bounced
FROM report_runs WHERE mailing_id = $1 ORDER BY at, run_id`, mailingID)
	if err != nil {
		return nil, fmt.Errorf("runs of mailing %s: %w", mailingID, err)
	}
	runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (RunSummary, error) {
		var r RunSummary
		var at time.Time
		err := row.Scan(&r.RunID, &r.Status, &r.Trigger, &r.DueAt, &at, &r.FinishedAt, &r.Clients, &r.Sent, &r.Failed, &r.Note,
			&r.AttemptsTotal, &r.AttemptsSuccess, &r.AttemptsFailure, &r.LastAttemptAt, &r.Deferred,
			&r.AttemptsSkipped, &r.Bounced)
		at, r.DueAt = at.UTC(), r.DueAt.UTC()
		if r.Status == "skipped" {
			r.SkippedAt = &at
		} else {
			r.StartedAt = &at
		}
		r.FinishedAt, r.LastAttemptAt = utcPtr(r.FinishedAt), utcPtr(r.LastAttemptAt)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("runs of mailing %s: %w", mailingID, err)
	}
	return runs, nil
}
