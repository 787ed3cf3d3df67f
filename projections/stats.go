package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/heraldmail/herald/domain"
)

// StatsProjector keeps the public figures: mailings total, mailings active
// (started and enabled) and unique client emails over the service
// (case-insensitive). It keeps its own small per-client and per-mailing
// state, so it never depends on the order other projectors apply in, and
// moves counters by deltas, so the figures cost one row read.
type StatsProjector struct{}

// Name implements Projector.
func (StatsProjector) Name() string { return "stats" }

// EventTypes implements Projector.
func (StatsProjector) EventTypes() []string {
	return []string{"client.created", "client.updated", "client.deleted",
		"mailing.created", "mailing.deleted", "mailing.enabled", "mailing.disabled", "mailing.paused",
		"mailing.started", "mailing.completed"}
}

// Tables implements Projector.
func (StatsProjector) Tables() []string {
	return []string{"stats_clients", "stats_client_emails", "stats_mailings", "public_stats"}
}

// Apply implements Projector.
func (StatsProjector) Apply(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent) error {
	switch ev := e.Event.(type) {
	case domain.ClientCreated:
		// One statement, not three round trips (client row, email count,
		// unique total): every created client passes here. A redelivery
		// inserts no client row, so nothing after it changes either.
		_, err := tx.Exec(ctx, `
WITH c AS (
    INSERT INTO stats_clients (client_id, email_key, version) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING
    RETURNING email_key
), e AS (
    INSERT INTO stats_client_emails (email_key, n) SELECT email_key, 1 FROM c
    ON CONFLICT (email_key) DO UPDATE SET n = stats_client_emails.n + 1
    RETURNING n
)
INSERT INTO public_stats (id, mailings_total, mailings_active, clients_unique) SELECT 1, 0, 0, 1 FROM e WHERE n = 1
ON CONFLICT (id) DO UPDATE SET clients_unique = public_stats.clients_unique + 1`,
			[16]byte(e.StreamID), domain.EmailKey(ev.Email), e.Version)
		return err
	case domain.ClientUpdated:
		return stepClient(ctx, tx, e, func(old string, deleted bool) (string, bool, error) {
			key := domain.EmailKey(ev.Email)
			if deleted || key == old {
				return old, deleted, nil
			}
			if err := addEmail(ctx, tx, old, -1); err != nil {
				return "", false, err
			}
			return key, false, addEmail(ctx, tx, key, 1)
		})
	case domain.ClientDeleted:
		return stepClient(ctx, tx, e, func(old string, deleted bool) (string, bool, error) {
			if deleted {
				return old, true, nil
			}
			return old, true, addEmail(ctx, tx, old, -1)
		})
	case domain.MailingCreated:
		tag, err := tx.Exec(ctx, `INSERT INTO stats_mailings (mailing_id, status, is_active, version) VALUES ($1, 'created', $2, $3)
ON CONFLICT DO NOTHING`, e.StreamID, ev.IsActive, e.Version)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return addStats(ctx, tx, 1, 0, 0)
	case domain.MailingDeleted:
		return stepMailing(ctx, tx, e, func(m *statsMailing) { m.deleted = true })
	case domain.MailingEnabled:
		return stepMailing(ctx, tx, e, func(m *statsMailing) { m.active = true })
	case domain.MailingDisabled, domain.MailingPaused:
		return stepMailing(ctx, tx, e, func(m *statsMailing) { m.active = false })
	case domain.MailingStarted:
		return stepMailing(ctx, tx, e, func(m *statsMailing) { m.status = string(domain.StatusStarted) })
	case domain.MailingCompleted:
		return stepMailing(ctx, tx, e, func(m *statsMailing) { m.status = string(domain.StatusCompleted) })
	}
	return nil
}

// ApplyBatch implements BatchApplier: a run of consecutive client creations
// is written with one statement (see addClients); any other event first
// flushes the run, then goes through Apply, so the state left is the same as
// Apply on each event.
func (p StatsProjector) ApplyBatch(ctx context.Context, tx pgx.Tx, events []domain.RecordedEvent) error {
	var run clientRun
	for _, e := range events {
		ev, ok := e.Event.(domain.ClientCreated)
		if !ok {
			if err := addClients(ctx, tx, &run); err != nil {
				return err
			}
			if err := p.Apply(ctx, tx, e); err != nil {
				return fmt.Errorf("stats: apply %s at %d: %w", e.Type, e.Position, err)
			}
			continue
		}
		if run.add(e) {
			run.keys = append(run.keys, domain.EmailKey(ev.Email))
		}
	}
	return addClients(ctx, tx, &run)
}

// addClients inserts the run's stats_clients rows and, for those actually
// inserted (a redelivered client is already there and counts nothing), adds
// per email key the number of new holders to stats_client_emails, grouped
// first so the upsert meets each key once. A key whose count now equals what
// was just added was absent before (no row has n = 0), so it is a new unique
// email; public_stats is created on first use, as in Apply. The run is then
// emptied.
func addClients(ctx context.Context, tx pgx.Tx, run *clientRun) error {
	if len(run.ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `
WITH c AS (
    INSERT INTO stats_clients (client_id, email_key, version)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[])
    ON CONFLICT DO NOTHING
    RETURNING email_key
), g AS (
    SELECT email_key, count(*) AS d FROM c GROUP BY email_key
), e AS (
    INSERT INTO stats_client_emails (email_key, n) SELECT email_key, d FROM g
    ON CONFLICT (email_key) DO UPDATE SET n = stats_client_emails.n + EXCLUDED.n
    RETURNING email_key, n
), u AS (
    SELECT count(*) AS k FROM e JOIN g USING (email_key) WHERE e.n = g.d
)
INSERT INTO public_stats (id, mailings_total, mailings_active, clients_unique) SELECT 1, 0, 0, k FROM u WHERE k > 0
ON CONFLICT (id) DO UPDATE SET clients_unique = public_stats.clients_unique + EXCLUDED.clients_unique`,
		run.ids, run.keys, run.versions)
	if err != nil {
		return fmt.Errorf("stats: insert %d created clients: %w", len(run.ids), err)
	}
	*run = clientRun{}
	return nil
}

// stepClient loads the client's email key under a row lock, lets change
// decide the new key and deleted flag, and stores them with the version.
func stepClient(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent, change func(old string, deleted bool) (string, bool, error)) error {
	var key string
	var deleted bool
	var version int64
	err := tx.QueryRow(ctx, `SELECT email_key, deleted, version FROM stats_clients WHERE client_id = $1 FOR UPDATE`, e.StreamID).
		Scan(&key, &deleted, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %s for client %s", errRowMissing, e.Type, e.StreamID)
	}
	if err != nil || version >= e.Version {
		return err
	}
	if key, deleted, err = change(key, deleted); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE stats_clients SET email_key = $2, deleted = $3, version = $4 WHERE client_id = $1`,
		e.StreamID, key, deleted, e.Version)
	return err
}

// addEmail moves the count of live clients holding key by one (delta is
// +1 or -1); the unique figure moves when a key appears or disappears.
func addEmail(ctx context.Context, tx pgx.Tx, key string, delta int64) error {
	if delta > 0 {
		var n int64
		err := tx.QueryRow(ctx, `
INSERT INTO stats_client_emails (email_key, n) VALUES ($1, 1)
ON CONFLICT (email_key) DO UPDATE SET n = stats_client_emails.n + 1
RETURNING n`, key).Scan(&n)
		if err != nil || n != 1 {
			return err
		}
		return addStats(ctx, tx, 0, 0, 1)
	}
	// The last holder going deletes the row (n stays positive).
	tag, err := tx.Exec(ctx, `DELETE FROM stats_client_emails WHERE email_key = $1 AND n = 1`, key)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 1 {
		return addStats(ctx, tx, 0, 0, -1)
	}
	_, err = tx.Exec(ctx, `UPDATE stats_client_emails SET n = n - 1 WHERE email_key = $1`, key)
	return err
}

type statsMailing struct {
	status  string
	active  bool
	deleted bool
}

// counted says what the mailing adds to (total, active).
func (m statsMailing) counted() (total, active int64) {
	if m.deleted {
		return 0, 0
	}
	if m.active && m.status == string(domain.StatusStarted) {
		return 1, 1
	}
	return 1, 0
}

func stepMailing(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent, change func(*statsMailing)) error {
	var m statsMailing
	var version int64
	err := tx.QueryRow(ctx, `SELECT status, is_active, deleted, version FROM stats_mailings WHERE mailing_id = $1 FOR UPDATE`, e.StreamID).
		Scan(&m.status, &m.active, &m.deleted, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %s for mailing %s", errRowMissing, e.Type, e.StreamID)
	}
	if err != nil || version >= e.Version {
		return err
	}
	t0, a0 := m.counted()
	change(&m)
	t1, a1 := m.counted()
	if _, err := tx.Exec(ctx, `UPDATE stats_mailings SET status = $2, is_active = $3, deleted = $4, version = $5 WHERE mailing_id = $1`,
		e.StreamID, m.status, m.active, m.deleted, e.Version); err != nil {
		return err
	}
	if t0 == t1 && a0 == a1 {
		return nil
	}
	return addStats(ctx, tx, t1-t0, a1-a0, 0)
}

// addStats moves the public counters; the row is created on first use, so a
// rebuild into fresh empty tables works the same.
func addStats(ctx context.Context, tx pgx.Tx, total, active, unique int64) error {
	_, err := tx.Exec(ctx, `
INSERT INTO public_stats (id, mailings_total, mailings_active, clients_unique) VALUES (1, $1, $2, $3)
ON CONFLICT (id) DO UPDATE SET mailings_total = public_stats.mailings_total + EXCLUDED.mailings_total,
    mailings_active = public_stats.mailings_active + EXCLUDED.mailings_active,
    clients_unique = public_stats.clients_unique + EXCLUDED.clients_unique`, total, active, unique)
	return err
}
