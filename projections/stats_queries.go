package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// PublicStats are the service-wide figures anyone may see.
type PublicStats struct {
	MailingsTotal  int64 `json:"mailings_total"`
	MailingsActive int64 `json:"mailings_active"`
	ClientsUnique  int64 `json:"clients_unique"`
}

// PublicStats reads the counters the stats projector keeps: one row.
func (q *ResourceQueries) PublicStats(ctx context.Context) (PublicStats, error) {
	var s PublicStats
	err := q.pool.QueryRow(ctx, `SELECT mailings_total, mailings_active, clients_unique FROM public_stats WHERE id = 1`).
		Scan(&s.MailingsTotal, &s.MailingsActive, &s.ClientsUnique)
	if errors.Is(err, pgx.ErrNoRows) {
		return PublicStats{}, nil
	}
	if err != nil {
		return PublicStats{}, fmt.Errorf("public stats: %w", err)
	}
	return s, nil
}
