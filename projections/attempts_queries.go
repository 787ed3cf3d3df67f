package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// AttemptRow is a delivery attempt as the API shows it.
type AttemptRow struct {
	ID             uuid.UUID `json:"id"`
	MailingID      uuid.UUID `json:"mailing_id"`
	RunID          uuid.UUID `json:"run_id"`
	ClientID       uuid.UUID `json:"client_id"`
	Email          string    `json:"email"`
	AttemptedAt    time.Time `json:"attempted_at"`
	Status         string    `json:"status"` // success | failure | skipped
	ServerResponse string    `json:"server_response"`
	Attempt        int       `json:"attempt"`
	// Final is true for the attempt that ends its delivery: a success, or a
	// failure not retried. A failure that is not final is deferred.
	Final bool `json:"final"`
	// RetryAt is when a deferred delivery is tried again (null otherwise).
	RetryAt *time.Time `json:"retry_at"`
	// Reason is why a skipped attempt sent nothing (unsubscribed,
	// suppressed); "" for the others.
	Reason   string `json:"reason"`
	position int64
}

// AttemptPage is one page of a mailing's attempts in store order, or with
// FailuresFirst the failed attempts (in store order) before the successful
// ones, which is what someone looking into a mailing wants to read first.
type AttemptPage struct {
	Limit int
	After int64 // the position of the last attempt of the previous page
	// FailuresFirst orders failures before successes; AfterSuccess says the
	// previous page ended on a success (its last row's Status).
	FailuresFirst bool
	AfterSuccess  bool
}

// AttemptQueries reads the attempts read model.
type AttemptQueries struct{ pool *pgxpool.Pool }

// NewAttemptQueries returns the queries over pool.
func NewAttemptQueries(pool *pgxpool.Pool) (*AttemptQueries, error) {
	if pool == nil {
		return nil, fmt.Errorf("projections: attempt queries need a pool")
	}
	return &AttemptQueries{pool: pool}, nil
}

// ListAttempts returns one mailing's attempts, oldest first (failures
// first if the page asks), and the position to continue after (0 on the
// last page). The caller has checked that scope may read the mailing; the
// owner condition holds it here too.
func (q *AttemptQueries) ListAttempts(ctx context.Context, scope OwnerScope, mailingID uuid.UUID, page AttemptPage) ([]AttemptRow, int64, error) {
	limit := page.Limit
	if limit <= 0 {
		limit = 50
	}
	// A success sorts after a failure (false < true), so the keyset of the
	// failures-first order is (success, position).
	after, order := `position > $2`, `position`
	args := []any{mailingID, page.After, scope.All, scope.Caller, limit + 1}
	if page.FailuresFirst {
		after, order = `(success, position) > ($6, $2)`, `success, position`
		args = append(args, page.AfterSuccess)
	}
	rows, err := q.pool.Query(ctx, `
SELECT id, mailing_id, run_id, client_id, email, attempted_at, success, server_response, attempt, position, final, retry_at, skipped
FROM attempts
WHERE mailing_id = $1 AND `+after+` AND ($3 OR owner_id = $4)
ORDER BY `+order+`
LIMIT $5`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list attempts: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AttemptRow, error) {
		var a AttemptRow
		var ok bool
		err := row.Scan(&a.ID, &a.MailingID, &a.RunID, &a.ClientID, &a.Email, &a.AttemptedAt, &ok, &a.ServerResponse, &a.Attempt, &a.position,
			&a.Final, &a.RetryAt, &a.Reason)
		a.AttemptedAt, a.RetryAt = a.AttemptedAt.UTC(), utcPtr(a.RetryAt)
		switch {
		case ok:
			a.Status = "success"
		case a.Reason != "":
			a.Status = "skipped"
		default:
			a.Status = "failure"
		}
		return a, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list attempts: %w", err)
	}
	var next int64
	if len(items) > limit {
		items = items[:limit]
		next = items[limit-1].position
	}
	return items, next, nil
}
