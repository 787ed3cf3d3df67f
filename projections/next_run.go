package projections

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldmail/herald/domain"
)

// Apply implements Projector: the mailings row (mailings.go), then its
// next_run_at.
func (p MailingsProjector) Apply(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent) error {
	if err := p.apply(ctx, tx, e); err != nil {
		return err
	}
	switch e.Event.(type) {
	case domain.MailingCreated, domain.MailingUpdated, domain.MailingEnabled, domain.MailingDisabled,
		domain.MailingPaused, domain.MailingStarted:
		return refreshNextRun(ctx, tx, e.StreamID, e.Version, e.RecordedAt)
	}
	return nil
}

// refreshNextRun sets a mailing row's next_run_at as of at, by
// domain.NextRun (a run the saga skips or fires late shows here at the next
// event). Only the event that just moved the row (its version) recomputes
// it, so a redelivered older event changes nothing.
func refreshNextRun(ctx context.Context, tx pgx.Tx, id uuid.UUID, version int64, at time.Time) error {
	var (
		start, end      time.Time
		periodicity, tz string
		status          string
		active, deleted bool
	)
	err := tx.QueryRow(ctx, `SELECT start_at, end_at, periodicity, timezone, status, is_active, deleted
FROM mailings WHERE id = $1 AND version = $2`, id, version).Scan(&start, &end, &periodicity, &tz, &status, &active, &deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	loc, lerr := domain.LoadTimezone(tz)
	if lerr != nil {
		loc = time.UTC
	}
	var next *time.Time
	s := domain.Schedule{Start: start, End: end, Periodicity: domain.Periodicity(periodicity), Location: loc}
	if t, ok := domain.NextRun(s, domain.MailingStatus(status), active && !deleted, at); ok {
		next = &t
	}
	_, err = tx.Exec(ctx, `UPDATE mailings SET next_run_at = $2 WHERE id = $1`, id, next)
	return err
}
