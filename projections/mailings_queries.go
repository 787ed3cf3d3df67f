package projections

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// MailingRow is a mailing as the API shows it.
type MailingRow struct {
	ID          uuid.UUID   `json:"id"`
	OwnerID     uuid.UUID   `json:"owner_id"`
	MessageID   uuid.UUID   `json:"message_id"`
	ClientIDs   []uuid.UUID `json:"client_ids"`
	AllClients  bool        `json:"all_clients"`
	StartAt     time.Time   `json:"start_at"`
	EndAt       time.Time   `json:"end_at"`
	Periodicity string      `json:"periodicity"`
	Timezone    string      `json:"timezone"`
	Status      string      `json:"status"`
	IsActive    bool        `json:"is_active"`
	NextRunAt   *time.Time  `json:"next_run_at"`
	LastRunAt   *time.Time  `json:"last_run_at"`
	Version     int64       `json:"version"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

// MailingFilter narrows a mailing list; zero values do not filter.
type MailingFilter struct {
	Status   string
	IsActive *bool
}

const selectMailings = `SELECT id, owner_id, message_id, client_ids, all_clients, start_at, end_at, periodicity, timezone, status, is_active,
next_run_at, last_run_at, version, created_at, updated_at FROM mailings`

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func scanMailing(row pgx.CollectableRow) (MailingRow, error) {
	var m MailingRow
	err := row.Scan(&m.ID, &m.OwnerID, &m.MessageID, &m.ClientIDs, &m.AllClients, &m.StartAt, &m.EndAt, &m.Periodicity, &m.Timezone,
		&m.Status, &m.IsActive, &m.NextRunAt, &m.LastRunAt, &m.Version, &m.CreatedAt, &m.UpdatedAt)
	m.StartAt, m.EndAt, m.CreatedAt, m.UpdatedAt = m.StartAt.UTC(), m.EndAt.UTC(), m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	m.NextRunAt, m.LastRunAt = utcPtr(m.NextRunAt), utcPtr(m.LastRunAt)
	if m.ClientIDs == nil {
		m.ClientIDs = []uuid.UUID{}
	}
	return m, err
}

// ListMailings lists the mailings in scope that pass f; the returned id is
// the next page's cursor (Nil on the last page).
func (q *ResourceQueries) ListMailings(ctx context.Context, s OwnerScope, f MailingFilter, p IDPage) ([]MailingRow, uuid.UUID, error) {
	var w where
	w.scope(s)
	if f.Status != "" {
		w.add("status = ?", f.Status)
	}
	if f.IsActive != nil {
		w.add("is_active = ?", *f.IsActive)
	}
	return listRows(ctx, q, "mailings", selectMailings, &w, p, scanMailing, func(m MailingRow) uuid.UUID { return m.ID })
}

// GetMailing returns one mailing in scope, or an ErrNotFound error.
func (q *ResourceQueries) GetMailing(ctx context.Context, s OwnerScope, id uuid.UUID) (MailingRow, error) {
	return getRow(ctx, q, "mailing", selectMailings, s, id, scanMailing)
}

// MailingsUsingMessage lists the live, not completed mailings that send the
// message, as the read model knows them.
func (q *ResourceQueries) MailingsUsingMessage(ctx context.Context, messageID uuid.UUID) ([]uuid.UUID, error) {
	return q.ids(ctx, `SELECT id FROM mailings WHERE message_id = $1 AND NOT deleted AND status <> 'completed' ORDER BY id`, messageID)
}

// MailingsListingClient lists the live, not completed mailings whose
// clients include clientID, as the read model knows them.
func (q *ResourceQueries) MailingsListingClient(ctx context.Context, clientID uuid.UUID) ([]uuid.UUID, error) {
	return q.ids(ctx, `SELECT id FROM mailings WHERE client_ids @> ARRAY[$1::uuid] AND NOT deleted AND status <> 'completed' ORDER BY id`, clientID)
}

func (q *ResourceQueries) ids(ctx context.Context, sql string, args ...any) ([]uuid.UUID, error) {
	rows, err := q.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}
