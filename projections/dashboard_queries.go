package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// DayDeliveries counts the deliveries of one day in a time zone.
type DayDeliveries struct {
	Day    time.Time // the day's midnight, in the zone asked for
	Sent   int64     // successful attempts
	Failed int64     // failures that end their delivery (a deferred one is retried, not failed)
}

// DeliveriesPerDay counts the deliveries in scope on each of the days days
// that end with the one holding now, days taken in loc: the caller's
// calendar, so a day that gains or loses an hour to summer time is still
// one day. Oldest first, a day without deliveries counts zero.
func (q *ReportQueries) DeliveriesPerDay(ctx context.Context, s OwnerScope, now time.Time, loc *time.Location, days int) ([]DayDeliveries, error) {
	if days <= 0 {
		return nil, nil
	}
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	out := make([]DayDeliveries, days)
	// bounds[i] is the start of day i, bounds[days] the end of today.
	bounds := make([]time.Time, days+1)
	for i := range bounds {
		bounds[i] = today.AddDate(0, 0, i-days+1)
		if i < days {
			out[i].Day = bounds[i]
		}
	}
	ow, args := ownerConds(s)
	args = append(args, bounds)
	n := len(args)
	// width_bucket numbers a quarter hour by the day it falls in: 1 for
	// [bounds[0], bounds[1]), …, days for the last. Every zone in use
	// starts its days on a quarter hour, so no quarter straddles two.
	rows, err := q.pool.Query(ctx, fmt.Sprintf(`SELECT width_bucket(quarter, $%[1]d::timestamptz[]) AS day, sum(sent)::bigint, sum(failed)::bigint
FROM attempt_quarters
WHERE quarter >= ($%[1]d::timestamptz[])[1] AND quarter < ($%[1]d::timestamptz[])[%[2]d]`+ow+`
GROUP BY 1`, n, days+1), args...)
	if err != nil {
		return nil, fmt.Errorf("deliveries per day: %w", err)
	}
	var day int
	var sent, failed int64
	_, err = pgx.ForEachRow(rows, []any{&day, &sent, &failed}, func() error {
		if day >= 1 && day <= days {
			out[day-1].Sent, out[day-1].Failed = sent, failed
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("deliveries per day: %w", err)
	}
	return out, nil
}

// ActiveMailings counts the mailings in scope that are enabled and will
// still send: not completed, not deleted.
func (q *ReportQueries) ActiveMailings(ctx context.Context, s OwnerScope) (int64, error) {
	ow, args := ownerConds(s)
	var n int64
	err := q.pool.QueryRow(ctx, `SELECT count(*) FROM mailings WHERE NOT deleted AND is_active AND status <> 'completed'`+ow, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("active mailings: %w", err)
	}
	return n, nil
}
