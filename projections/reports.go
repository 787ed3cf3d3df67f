package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heraldmail/herald/domain"
)

// ReportsProjector keeps the report tables: per mailing its status, runs and
// delivery attempts (report_mailings), per run its progress and totals
// (report_runs, which the audit replay shows as run summaries), and per
// owner the clients and messages they keep (report_items, report_owners).
//
// Mailing and run events travel on different topics, so a run may be seen
// before its mailing's creation: every write is an upsert whose result does
// not depend on that order. Counters that span streams are deduped by the
// row of the stream that moves them: a run's row remembers the run stream
// version it reflects, and the mailing's counters move only when the run's
// row took the event, in the same transaction.
type ReportsProjector struct{}

// Name implements Projector.
func (ReportsProjector) Name() string { return "reports" }

// EventTypes implements Projector.
func (ReportsProjector) EventTypes() []string {
	return []string{
		"mailing.created", "mailing.started", "mailing.completed", "mailing.deleted",
		"run.started", "run.skipped", "run.delivery_attempted", "run.deliveries_attempted", "run.finished",
		"client.created", "client.deleted", "message.created", "message.deleted",
	}
}

// Tables implements Projector.
func (ReportsProjector) Tables() []string {
	return []string{"report_mailings", "report_runs", "report_items", "report_owners"}
}

// Apply implements Projector.
func (ReportsProjector) Apply(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent) error {
	switch ev := e.Event.(type) {
	case domain.MailingCreated:
		// A row made earlier by the mailing's run events has version 0.
		_, err := tx.Exec(ctx, `
INSERT INTO report_mailings (mailing_id, owner_id, status, version) VALUES ($1, $2, 'created', $3)
ON CONFLICT (mailing_id) DO UPDATE SET owner_id = EXCLUDED.owner_id, version = EXCLUDED.version
WHERE report_mailings.version < EXCLUDED.version`, e.StreamID, ev.OwnerID, e.Version)
		return err
	case domain.MailingStarted:
		return stepReportMailing(ctx, tx, e, `status = 'started'`)
	case domain.MailingCompleted:
		return stepReportMailing(ctx, tx, e, `status = 'completed'`)
	case domain.MailingDeleted:
		return stepReportMailing(ctx, tx, e, `deleted = true`)

	case domain.RunStarted:
		tag, err := tx.Exec(ctx, `
INSERT INTO report_runs (run_id, mailing_id, owner_id, status, trigger, due_at, at, clients, version)
VALUES ($1, $2, $3, 'started', $4, $5, $6, $7, $8) ON CONFLICT (run_id) DO NOTHING`,
			e.StreamID, ev.MailingID, ev.OwnerID, ev.Trigger, ev.DueAt, ev.StartedAt, ev.Clients, e.Version)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `
INSERT INTO report_mailings (mailing_id, owner_id, runs) VALUES ($1, $2, 1)
ON CONFLICT (mailing_id) DO UPDATE SET runs = report_mailings.runs + 1`, ev.MailingID, ev.OwnerID)
		return err
	case domain.RunSkipped:
		_, err := tx.Exec(ctx, `
INSERT INTO report_runs (run_id, mailing_id, owner_id, status, due_at, at, note, version)
VALUES ($1, $2, $3, 'skipped', $4, $5, $6, $7) ON CONFLICT (run_id) DO NOTHING`,
			e.StreamID, ev.MailingID, ev.OwnerID, ev.DueAt, ev.SkippedAt, ev.Reason, e.Version)
		return err
	case domain.DeliveryAttempted, domain.DeliveriesAttempted:
		d, _ := deltaOf(e)
		return addDeliveries(ctx, tx, []deliveryDelta{d}, true)
	case domain.RunFinished:
		// A run stopped early leaves its deferred deliveries untried: they
		// stop counting as deferred, on the run and on its mailing.
		var took int
		err := tx.QueryRow(ctx, `
WITH old AS (
    SELECT run_id, deferred FROM report_runs WHERE run_id = $1 AND version < $2 FOR UPDATE
), r AS (
    UPDATE report_runs r SET status = 'finished', finished_at = $3, sent = $4, failed = $5, note = $6, version = $2, deferred = 0
    FROM old WHERE r.run_id = old.run_id
    RETURNING r.mailing_id, old.deferred
), m AS (
    UPDATE report_mailings m SET deferred = m.deferred - r.deferred FROM r WHERE m.mailing_id = r.mailing_id AND r.deferred <> 0
    RETURNING 1
)
SELECT count(*)::int FROM r`, e.StreamID, e.Version, ev.FinishedAt, ev.Sent, ev.Failed, ev.Note()).Scan(&took)
		if err != nil {
			return err
		}
		return checkReportRow(ctx, tx, int64(took), `SELECT EXISTS (SELECT 1 FROM report_runs WHERE run_id = $1)`, e)

	case domain.ClientCreated:
		return addReportItem(ctx, tx, e, "client", ev.OwnerID)
	case domain.MessageCreated:
		return addReportItem(ctx, tx, e, "message", ev.OwnerID)
	case domain.ClientDeleted, domain.MessageDeleted:
		return deleteReportItem(ctx, tx, e)
	}
	return nil
}

// stepReportMailing applies a mailing event after its creation: set is the
// change; an event at or below the row's version is a redelivery.
func stepReportMailing(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent, set string) error {
	// set is one of Apply's constants, never input.
	tag, err := tx.Exec(ctx, `UPDATE report_mailings SET `+set+`, version = $2
WHERE mailing_id = $1 AND version > 0 AND version < $2`, e.StreamID, e.Version)
	if err != nil {
		return err
	}
	return checkReportRow(ctx, tx, tag.RowsAffected(),
		`SELECT EXISTS (SELECT 1 FROM report_mailings WHERE mailing_id = $1 AND version > 0)`, e)
}

// checkReportRow tells a redelivery (the row exists, the event changed
// nothing) from an event whose row is not made yet (retried later).
func checkReportRow(ctx context.Context, tx pgx.Tx, affected int64, exists string, e domain.RecordedEvent) error {
	if affected > 0 {
		return nil
	}
	var ok bool
	if err := tx.QueryRow(ctx, exists, e.StreamID).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s %s for %s", errRowMissing, e.Type, e.EventID, e.StreamID)
	}
	return nil
}

// deliveryDelta is what delivery attempts of one run add to its counters.
type deliveryDelta struct {
	run                     uuid.UUID
	first, last             int64 // run stream versions of the first and last attempt
	total, success, failure int64
	// deferred moves the run's deferred deliveries: +1 for an attempt that
	// defers, -1 for a retry (the attempt before it was deferred).
	deferred int64
	// lost counts final failures: deliveries the run gives up on. With
	// success it keeps a started run's sent and failed current, so its
	// progress shows while it sends; its end sets them to the run's own
	// figures.
	lost int64
	// skipped counts attempts that sent nothing (unsubscribed or
	// suppressed), bounced the failures with a 5xx reply.
	skipped, bounced int64
	lastAt           time.Time
}

// deltaOf sums up the attempts event e records; false if it records none.
func deltaOf(e domain.RecordedEvent) (deliveryDelta, bool) {
	as := domain.AttemptsIn(e.Event)
	d := deliveryDelta{run: e.StreamID, first: e.Version, last: e.Version}
	for _, a := range as {
		d.total++
		if a.AttemptedAt.After(d.lastAt) {
			d.lastAt = a.AttemptedAt
		}
		switch {
		case a.Success:
			d.success++
		case a.Skipped != "":
			d.skipped++
		default:
			d.failure++
			if a.Final() {
				d.lost++
			}
			if a.Bounced() {
				d.bounced++
			}
		}
		if a.Deferred() {
			d.deferred++
		}
		if a.Attempt > 1 {
			d.deferred--
		}
	}
	return d, as != nil
}

// addDeliveries adds attempts to their runs and, through the runs that took
// them, to their mailings, in one statement. A run row whose version is at
// or past a delta's first version has seen those attempts already and takes
// nothing (redelivery). check makes a delta whose run row is missing an
// errRowMissing (Apply; a rebuild replays in commit order and never meets
// one).
func addDeliveries(ctx context.Context, tx pgx.Tx, ds []deliveryDelta, check bool) error {
	if len(ds) == 0 {
		return nil
	}
	n := len(ds)
	// [16]byte, not uuid.UUID: pgx encodes a uuid.UUID through its
	// driver.Valuer, as text.
	runs, firsts, lasts := make([][16]byte, n), make([]int64, n), make([]int64, n)
	totals, succ, fail, deferred := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	lost, ats := make([]int64, n), make([]time.Time, n)
	skipped, bounced := make([]int64, n), make([]int64, n)
	for i, d := range ds {
		runs[i], firsts[i], lasts[i], totals[i], succ[i], fail[i], ats[i] = d.run, d.first, d.last, d.total, d.success, d.failure, d.lastAt
		deferred[i], lost[i], skipped[i], bounced[i] = d.deferred, d.lost, d.skipped, d.bounced
	}
	var took int
	err := tx.QueryRow(ctx, `
WITH d AS (
    SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::timestamptz[], $8::bigint[],
        $9::bigint[], $10::bigint[], $11::bigint[]) AS d(run_id, first, last, total, success, failure, last_at, deferred, lost, skipped, bounced)
), r AS (
    UPDATE report_runs r SET attempts_total = r.attempts_total + d.total, attempts_success = r.attempts_success + d.success,
        attempts_failure = r.attempts_failure + d.failure, last_attempt_at = greatest(r.last_attempt_at, d.last_at),
        deferred = r.deferred + d.deferred, sent = r.sent + d.success, failed = r.failed + d.lost,
        attempts_skipped = r.attempts_skipped + d.skipped, bounced = r.bounced + d.bounced,
        version = greatest(r.version, d.last)
    FROM d WHERE r.run_id = d.run_id AND r.version < d.first
    RETURNING r.mailing_id, d.total, d.success, d.failure, d.last_at, d.deferred, d.skipped, d.bounced
), m AS (
    UPDATE report_mailings m SET attempts_total = m.attempts_total + x.total, attempts_success = m.attempts_success + x.success,
        attempts_failure = m.attempts_failure + x.failure, last_attempt_at = greatest(m.last_attempt_at, x.last_at),
        deferred = m.deferred + x.deferred, attempts_skipped = m.attempts_skipped + x.skipped, bounced = m.bounced + x.bounced
    FROM (SELECT mailing_id, sum(total) AS total, sum(success) AS success, sum(failure) AS failure, max(last_at) AS last_at,
                 sum(deferred) AS deferred, sum(skipped) AS skipped, sum(bounced) AS bounced
          FROM r GROUP BY mailing_id) x
    WHERE m.mailing_id = x.mailing_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM r)::int`, runs, firsts, lasts, totals, succ, fail, ats, deferred, lost, skipped, bounced).Scan(&took)
	if err != nil || !check || took == n {
		return err
	}
	for _, d := range ds {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM report_runs WHERE run_id = $1)`, d.run).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: delivery attempt of run %s before its start", errRowMissing, d.run)
		}
	}
	return nil
}

func addReportItem(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent, kind string, owner uuid.UUID) error {
	tag, err := tx.Exec(ctx, `INSERT INTO report_items (id, kind, owner_id, version) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
		[16]byte(e.StreamID), kind, [16]byte(owner), e.Version)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	return moveOwner(ctx, tx, owner, kind, 1)
}

func deleteReportItem(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent) error {
	var kind string
	var owner uuid.UUID
	err := tx.QueryRow(ctx, `UPDATE report_items SET deleted = true, version = $2 WHERE id = $1 AND version < $2 AND NOT deleted
RETURNING kind, owner_id`, e.StreamID, e.Version).Scan(&kind, &owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return checkReportRow(ctx, tx, 0, `SELECT EXISTS (SELECT 1 FROM report_items WHERE id = $1)`, e)
	}
	if err != nil {
		return err
	}
	return moveOwner(ctx, tx, owner, kind, -1)
}

// moveOwner moves one of an owner's counters by delta; the row is made on
// first use, so a rebuild into empty tables works the same.
func moveOwner(ctx context.Context, tx pgx.Tx, owner uuid.UUID, kind string, delta int64) error {
	var clients, messages int64
	if kind == "client" {
		clients = delta
	} else {
		messages = delta
	}
	_, err := tx.Exec(ctx, `
INSERT INTO report_owners (owner_id, clients_total, messages_total) VALUES ($1, $2, $3)
ON CONFLICT (owner_id) DO UPDATE SET clients_total = report_owners.clients_total + EXCLUDED.clients_total,
    messages_total = report_owners.messages_total + EXCLUDED.messages_total`, [16]byte(owner), clients, messages)
	return err
}

// ApplyBatch implements BatchApplier: runs of delivery attempts (most of
// the store) are summed per run in memory and written with one statement,
// and runs of created clients and messages are written with one statement
// per run too (they touch other tables than attempts, so the two kinds of
// run may interleave); every other event goes through Apply, after what
// came before it, so the result is the same as Apply on each event.
func (p ReportsProjector) ApplyBatch(ctx context.Context, tx pgx.Tx, events []domain.RecordedEvent) error {
	pending := map[uuid.UUID]*deliveryDelta{}
	var order []uuid.UUID
	var items []reportItem
	flush := func() error {
		ds := make([]deliveryDelta, 0, len(order))
		for _, id := range order {
			ds = append(ds, *pending[id])
		}
		clear(pending)
		order = order[:0]
		if err := addDeliveries(ctx, tx, ds, true); err != nil {
			return err
		}
		err := addReportItems(ctx, tx, items)
		items = items[:0]
		return err
	}
	for _, e := range events {
		switch ev := e.Event.(type) {
		case domain.ClientCreated:
			items = append(items, reportItem{id: e.StreamID, kind: "client", owner: ev.OwnerID, version: e.Version})
			continue
		case domain.MessageCreated:
			items = append(items, reportItem{id: e.StreamID, kind: "message", owner: ev.OwnerID, version: e.Version})
			continue
		}
		d, ok := deltaOf(e)
		if !ok {
			if err := flush(); err != nil {
				return err
			}
			if err := p.Apply(ctx, tx, e); err != nil {
				return err
			}
			continue
		}
		cur := pending[d.run]
		if cur == nil {
			pending[d.run] = &d
			order = append(order, d.run)
			continue
		}
		cur.last = max(cur.last, d.last)
		cur.total += d.total
		cur.success += d.success
		cur.failure += d.failure
		cur.deferred += d.deferred
		cur.lost += d.lost
		cur.skipped += d.skipped
		cur.bounced += d.bounced
		if d.lastAt.After(cur.lastAt) {
			cur.lastAt = d.lastAt
		}
	}
	return flush()
}

type reportItem struct {
	id, owner uuid.UUID
	kind      string
	version   int64
}

// addReportItems is addReportItem for many: one statement inserts the
// items that are new and moves their owners' counters by what was new.
func addReportItems(ctx context.Context, tx pgx.Tx, items []reportItem) error {
	if len(items) == 0 {
		return nil
	}
	ids, owners := make([][16]byte, 0, len(items)), make([][16]byte, 0, len(items))
	kinds, versions := make([]string, 0, len(items)), make([]int64, 0, len(items))
	seen := make(map[uuid.UUID]bool, len(items))
	for _, it := range items {
		if seen[it.id] {
			continue // a redelivery within the batch: the first one counts
		}
		seen[it.id] = true
		ids, owners = append(ids, it.id), append(owners, it.owner)
		kinds, versions = append(kinds, it.kind), append(versions, it.version)
	}
	_, err := tx.Exec(ctx, `
WITH ins AS (
    INSERT INTO report_items (id, kind, owner_id, version)
    SELECT id, kind, owner_id, version FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::bigint[]) AS t(id, kind, owner_id, version)
    ON CONFLICT (id) DO NOTHING
    RETURNING kind, owner_id
)
INSERT INTO report_owners (owner_id, clients_total, messages_total)
SELECT owner_id, count(*) FILTER (WHERE kind = 'client'), count(*) FILTER (WHERE kind = 'message') FROM ins GROUP BY owner_id
ON CONFLICT (owner_id) DO UPDATE SET clients_total = report_owners.clients_total + EXCLUDED.clients_total,
    messages_total = report_owners.messages_total + EXCLUDED.messages_total`, ids, kinds, owners, versions)
	return err
}
