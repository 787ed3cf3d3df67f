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

// UserRow is one account as the users read model has it, with the derived
// staff status and permissions.
type UserRow struct {
	ID            uuid.UUID
	Email         string
	Name          string
	IsActive      bool
	IsStaff       bool
	IsSuperuser   bool
	EmailVerified bool
	Groups        []string
	Permissions   []string
	CreatedAt     time.Time
	Version       int64
}

// UserQueries reads the users read model and the uniqueness claims.
type UserQueries struct {
	pool *pgxpool.Pool
}

// NewUserQueries returns the queries over pool.
func NewUserQueries(pool *pgxpool.Pool) (*UserQueries, error) {
	if pool == nil {
		return nil, errors.New("projections: nil pool")
	}
	return &UserQueries{pool: pool}, nil
}

// ClaimOwner returns who holds key in scope. Claims are written in the
// append's transaction, so this never lags behind a command.
func (q *UserQueries) ClaimOwner(ctx context.Context, scope, key string) (uuid.UUID, bool, error) {
	var owner uuid.UUID
	err := q.pool.QueryRow(ctx, `SELECT owner_id FROM unique_claims WHERE scope = $1 AND key = $2`, scope, key).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, false, nil
	}
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("claim owner: %w", err)
	}
	return owner, true, nil
}

// userColumns selects a UserRow from users u; permissions are the union of
// the permissions of the user's groups.
const userColumns = `u.id, u.email, u.name, u.is_active, u.is_superuser, u.email_verified, u.groups, u.created_at, u.version,
  coalesce((SELECT array_agg(DISTINCT p ORDER BY p) FROM access_groups g CROSS JOIN LATERAL unnest(g.permissions) p
            WHERE g.name = ANY(u.groups)), '{}')`

func scanUser(row pgx.Row) (UserRow, error) {
	var u UserRow
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.IsActive, &u.IsSuperuser, &u.EmailVerified, &u.Groups, &u.CreatedAt, &u.Version, &u.Permissions); err != nil {
		return UserRow{}, err
	}
	u.finish()
	return u, nil
}

func (u *UserRow) finish() {
	if u.Groups == nil {
		u.Groups = []string{}
	}
	if u.IsSuperuser {
		u.Permissions = domain.AllPermissions()
	}
	if u.Permissions == nil {
		u.Permissions = []string{}
	}
	u.IsStaff = domain.IsStaff(u.Groups, u.IsSuperuser)
	u.CreatedAt = u.CreatedAt.UTC()
}

// User returns one account; domain.ErrNotFound when the read model has none.
func (q *UserQueries) User(ctx context.Context, id uuid.UUID) (UserRow, error) {
	u, err := scanUser(q.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return UserRow{}, domain.NotFound("user")
	}
	if err != nil {
		return UserRow{}, fmt.Errorf("user %s: %w", id, err)
	}
	return u, nil
}

// ListUsers returns up to limit accounts with ids after `after` (uuid.Nil:
// from the start), in id order, which is creation order for v7 ids. Only
// staff may call it; the caller's policy decides.
func (q *UserQueries) ListUsers(ctx context.Context, after uuid.UUID, limit int) ([]UserRow, error) {
	return q.users(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id > $1 ORDER BY u.id LIMIT $2`, after, limit)
}

// SearchUsers is one page of the accounts whose email or name contains
// search (case-insensitive; "" keeps every account), in id order; the
// returned id is the next page's cursor (Nil on the last page). Only staff
// may call it; the caller's policy decides.
func (q *UserQueries) SearchUsers(ctx context.Context, search string, p IDPage) ([]UserRow, uuid.UUID, error) {
	sql := `SELECT ` + userColumns + ` FROM users u WHERE u.id > $1`
	args := []any{p.After, p.Limit + 1}
	if search = strings.TrimSpace(search); search != "" {
		sql += ` AND (u.email ILIKE $3 OR u.name ILIKE $3)`
		args = append(args, likePattern(search))
	}
	rows, err := q.users(ctx, sql+` ORDER BY u.id LIMIT $2`, args...)
	if err != nil {
		return nil, uuid.Nil, err
	}
	rows, next := pageOf(rows, p, func(u UserRow) uuid.UUID { return u.ID })
	return rows, next, nil
}

// UsersByID returns the accounts among ids the read model has, by id: the
// owners a staff list names.
func (q *UserQueries) UsersByID(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]UserRow, error) {
	rows, err := q.users(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]UserRow, len(rows))
	for _, u := range rows {
		out[u.ID] = u
	}
	return out, nil
}

// users runs a query selecting userColumns.
func (q *UserQueries) users(ctx context.Context, sql string, args ...any) ([]UserRow, error) {
	rows, err := q.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []UserRow{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// GroupPermissions returns the union of the permissions of the named groups
// (for an account the read model does not have yet).
func (q *UserQueries) GroupPermissions(ctx context.Context, groups []string) ([]string, error) {
	var perms []string
	err := q.pool.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT p ORDER BY p), '{}') FROM access_groups g CROSS JOIN LATERAL unnest(g.permissions) p WHERE g.name = ANY($1)`,
		groups).Scan(&perms)
	if err != nil {
		return nil, fmt.Errorf("group permissions: %w", err)
	}
	return perms, nil
}
