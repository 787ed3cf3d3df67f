package projections

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heraldmail/herald/domain"
)

// OwnerScope is whose rows a query may see: the caller's own, or, for
// staff (All), everyone's, optionally narrowed to one Owner.
type OwnerScope struct {
	Caller uuid.UUID
	All    bool
	// Owner narrows the rows to one owner (staff's ?owner_id=). A caller who
	// is not staff naming someone else sees nothing.
	Owner uuid.UUID
}

// IDPage is one page of a keyset list in id (creation) order.
type IDPage struct {
	Limit int
	After uuid.UUID // the last id of the previous page; Nil for the first
}

// where builds the conditions of a scoped list, numbering arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(w.args))))
}

// Ids go to PostgreSQL as [16]byte: as uuid.UUID, a driver.Valuer, pgx
// would format each as text and parse it back.
func (w *where) scope(s OwnerScope) {
	if !s.All {
		w.add("owner_id = ?", [16]byte(s.Caller))
	}
	if s.Owner != uuid.Nil {
		w.add("owner_id = ?", [16]byte(s.Owner))
	}
}

func (w *where) page(p IDPage) {
	if p.After != uuid.Nil {
		w.add("id > ?", [16]byte(p.After))
	}
}

// sql is the statement ending with the page's order and limit (one row more
// than the page, to know whether another page follows).
func (w *where) sql(selectFrom string, p IDPage) string {
	q := selectFrom + " WHERE NOT deleted"
	for _, c := range w.conds {
		q += " AND " + c
	}
	w.args = append(w.args, p.Limit+1)
	return q + fmt.Sprintf(" ORDER BY id LIMIT $%d", len(w.args))
}

// listRows runs a list query whose filters are in w, one page of it, and
// returns the rows and the next page's cursor (Nil on the last page).
func listRows[T any](ctx context.Context, q *ResourceQueries, what, selectFrom string, w *where, p IDPage,
	scan pgx.RowToFunc[T], id func(T) uuid.UUID) ([]T, uuid.UUID, error) {
	w.page(p)
	rows, err := q.pool.Query(ctx, w.sql(selectFrom, p), w.args...)
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("list %s: %w", what, err)
	}
	items, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("list %s: %w", what, err)
	}
	items, next := pageOf(items, p, id)
	return items, next, nil
}

// getRow returns the row with id in scope, or an ErrNotFound error naming what.
func getRow[T any](ctx context.Context, q *ResourceQueries, what, selectFrom string, s OwnerScope, id uuid.UUID, scan pgx.RowToFunc[T]) (T, error) {
	var zero T
	var w where
	w.add("id = ?", [16]byte(id))
	w.scope(s)
	rows, err := q.pool.Query(ctx, w.sql(selectFrom, IDPage{Limit: 1}), w.args...)
	if err != nil {
		return zero, fmt.Errorf("get %s: %w", what, err)
	}
	row, err := pgx.CollectExactlyOneRow(rows, scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return zero, domain.NotFound(what)
	}
	if err != nil {
		return zero, fmt.Errorf("get %s: %w", what, err)
	}
	return row, nil
}

// pageOf trims the extra row and returns the cursor of the next page.
func pageOf[T any](items []T, p IDPage, id func(T) uuid.UUID) ([]T, uuid.UUID) {
	if len(items) > p.Limit {
		items = items[:p.Limit]
		return items, id(items[len(items)-1])
	}
	return items, uuid.Nil
}

// ResourceQueries reads the clients, messages, mailings and public stats
// read models. Every list and get takes the caller's scope.
type ResourceQueries struct {
	pool *pgxpool.Pool
}

// NewResourceQueries returns queries over pool.
func NewResourceQueries(pool *pgxpool.Pool) (*ResourceQueries, error) {
	if pool == nil {
		return nil, errors.New("projections: nil pool")
	}
	return &ResourceQueries{pool: pool}, nil
}

// ClientRow is a client as the API shows it.
type ClientRow struct {
	ID        uuid.UUID `json:"id"`
	OwnerID   uuid.UUID `json:"owner_id"`
	Email     string    `json:"email"`
	FullName  string    `json:"full_name"`
	Comment   string    `json:"comment"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// UnsubscribedAt is when the client unsubscribed; null while it has not.
	UnsubscribedAt *time.Time `json:"unsubscribed_at"`
	// SuppressedAt is when its address was suppressed after bouncing; null
	// while it is not. SuppressionReason says why ("" when not suppressed).
	SuppressedAt      *time.Time `json:"suppressed_at"`
	SuppressionReason string     `json:"suppression_reason"`
}

const selectClients = `SELECT id, owner_id, email, full_name, comment, version, created_at, updated_at,
unsubscribed_at, suppressed_at, suppression_reason FROM clients`

func scanClient(row pgx.CollectableRow) (ClientRow, error) {
	var c ClientRow
	// Ids scan as [16]byte: as uuid.UUID, an sql.Scanner, pgx would format
	// each as text for uuid.Parse to read back.
	err := row.Scan((*[16]byte)(&c.ID), (*[16]byte)(&c.OwnerID), &c.Email, &c.FullName, &c.Comment, &c.Version, &c.CreatedAt, &c.UpdatedAt,
		&c.UnsubscribedAt, &c.SuppressedAt, &c.SuppressionReason)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	for _, t := range []*time.Time{c.UnsubscribedAt, c.SuppressedAt} {
		if t != nil {
			*t = t.UTC()
		}
	}
	return c, err
}

// likePattern matches q anywhere, with LIKE's wildcards taken literally.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// ListClients lists the clients in scope, optionally those whose email or
// full name contains q (case-insensitive); the returned id is the next
// page's cursor (Nil on the last page).
func (q *ResourceQueries) ListClients(ctx context.Context, s OwnerScope, search string, p IDPage) ([]ClientRow, uuid.UUID, error) {
	var w where
	w.scope(s)
	if search = strings.TrimSpace(search); search != "" {
		w.add("(email ILIKE ? OR full_name ILIKE $"+fmt.Sprint(len(w.args)+1)+")", likePattern(search))
	}
	return listRows(ctx, q, "clients", selectClients, &w, p, scanClient, func(c ClientRow) uuid.UUID { return c.ID })
}

// GetClient returns one client in scope, or an ErrNotFound error.
func (q *ResourceQueries) GetClient(ctx context.Context, s OwnerScope, id uuid.UUID) (ClientRow, error) {
	return getRow(ctx, q, "client", selectClients, s, id, scanClient)
}

// ClientOwners returns the owner of each live client among ids, as the read
// model knows it (a client created a moment ago may not be there yet).
func (q *ResourceQueries) ClientOwners(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]uuid.UUID, error) {
	rows, err := q.pool.Query(ctx, `SELECT id, owner_id FROM clients WHERE id = ANY($1) AND NOT deleted`, ids)
	if err != nil {
		return nil, fmt.Errorf("client owners: %w", err)
	}
	defer rows.Close()
	out := make(map[uuid.UUID]uuid.UUID, len(ids))
	for rows.Next() {
		var id, owner uuid.UUID
		if err := rows.Scan(&id, &owner); err != nil {
			return nil, fmt.Errorf("client owners: %w", err)
		}
		out[id] = owner
	}
	return out, rows.Err()
}

// OptOutOf returns the standing of an owner's address among all its
// clients, deleted ones included (commands.OptOutLookup).
func (q *ResourceQueries) OptOutOf(ctx context.Context, owner uuid.UUID, emailKey string) (domain.OptOut, error) {
	var o domain.OptOut
	err := q.pool.QueryRow(ctx, `SELECT coalesce(bool_or(unsubscribed_at IS NOT NULL), false), coalesce(bool_or(suppressed_at IS NOT NULL), false),
    coalesce(max(suppression_reason), ''), coalesce(max(suppression_reply), '')
FROM clients WHERE owner_id = $1 AND lower(email) = $2 AND (unsubscribed_at IS NOT NULL OR suppressed_at IS NOT NULL)`,
		[16]byte(owner), emailKey).Scan(&o.Unsubscribed, &o.Suppressed, &o.Reason, &o.Reply)
	if err != nil {
		return o, fmt.Errorf("opt-out of an address: %w", err)
	}
	return o, nil
}

// OptOutsOf returns the standing of many of an owner's addresses, keyed by
// email key; addresses in good standing are left out
// (commands.OptOutsLookup).
func (q *ResourceQueries) OptOutsOf(ctx context.Context, owner uuid.UUID, emailKeys []string) (map[string]domain.OptOut, error) {
	rows, err := q.pool.Query(ctx, `SELECT lower(email), bool_or(unsubscribed_at IS NOT NULL), bool_or(suppressed_at IS NOT NULL),
    coalesce(max(suppression_reason), ''), coalesce(max(suppression_reply), '')
FROM clients WHERE owner_id = $1 AND lower(email) = ANY($2) AND (unsubscribed_at IS NOT NULL OR suppressed_at IS NOT NULL)
GROUP BY lower(email)`, [16]byte(owner), emailKeys)
	if err != nil {
		return nil, fmt.Errorf("opt-outs of addresses: %w", err)
	}
	defer rows.Close()
	out := map[string]domain.OptOut{}
	for rows.Next() {
		var key string
		var o domain.OptOut
		if err := rows.Scan(&key, &o.Unsubscribed, &o.Suppressed, &o.Reason, &o.Reply); err != nil {
			return nil, fmt.Errorf("opt-outs of addresses: %w", err)
		}
		out[key] = o
	}
	return out, rows.Err()
}
