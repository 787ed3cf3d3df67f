package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Sessions is the login session table. Sessions are operational state, not
// domain history: no events, no projector. The login handler writes them and
// logout, block and password changes revoke them directly, so a token stops
// working in the same request. Only the SHA-256 of a token is kept.
type Sessions struct {
	pool *pgxpool.Pool
}

// NewSessions returns the session table over pool.
func NewSessions(pool *pgxpool.Pool) (*Sessions, error) {
	if pool == nil {
		return nil, errors.New("projections: nil pool")
	}
	return &Sessions{pool: pool}, nil
}

// Create stores a session for userID until expires.
func (s *Sessions) Create(ctx context.Context, tokenHash []byte, userID uuid.UUID, now, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at, seen_at) VALUES ($1, $2, $3, $4, $3)`,
		tokenHash, userID, now, expires)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionUser is a live session with the account it belongs to. User is nil
// when the users read model has not caught up with the account yet.
type SessionUser struct {
	UserID    uuid.UUID
	CreatedAt time.Time
	ExpiresAt time.Time
	SeenAt    time.Time // when the session was last used (Touch)
	User      *UserRow
}

// Lookup returns the live session with tokenHash: not revoked, not expired
// at now, and used after idleSince; ok false when there is none. A blocked
// account's session is not live either.
func (s *Sessions) Lookup(ctx context.Context, tokenHash []byte, now, idleSince time.Time) (SessionUser, bool, error) {
	row := s.pool.QueryRow(ctx, `
SELECT s.user_id, s.created_at, s.expires_at, s.seen_at, u.id IS NOT NULL, `+nullableUserColumns+`
FROM sessions s LEFT JOIN users u ON u.id = s.user_id
WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND s.seen_at > $3`, tokenHash, now, idleSince)
	var (
		su                      SessionUser
		has                     bool
		u                       UserRow
		name, email             *string
		active, super, verified *bool
		created                 *time.Time
		version                 *int64
	)
	err := row.Scan(&su.UserID, &su.CreatedAt, &su.ExpiresAt, &su.SeenAt, &has, &email, &name, &active, &super, &verified, &u.Groups, &created, &version, &u.Permissions)
	if errors.Is(err, pgx.ErrNoRows) {
		return SessionUser{}, false, nil
	}
	if err != nil {
		return SessionUser{}, false, fmt.Errorf("lookup session: %w", err)
	}
	if has {
		u.ID, u.Email, u.Name = su.UserID, *email, *name
		u.IsActive, u.IsSuperuser, u.EmailVerified = *active, *super, *verified
		u.CreatedAt, u.Version = *created, *version
		u.finish()
		if !u.IsActive {
			return SessionUser{}, false, nil
		}
		su.User = &u
	}
	return su, true, nil
}

const nullableUserColumns = `u.email, u.name, u.is_active, u.is_superuser, u.email_verified, u.groups, u.created_at, u.version,
  coalesce((SELECT array_agg(DISTINCT p ORDER BY p) FROM access_groups g CROSS JOIN LATERAL unnest(g.permissions) p
            WHERE g.name = ANY(u.groups)), '{}')`

// Touch records that the session with tokenHash was used at now.
func (s *Sessions) Touch(ctx context.Context, tokenHash []byte, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE sessions SET seen_at = $2 WHERE token_hash = $1 AND seen_at < $2`, tokenHash, now); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// Revoke ends one session; it reports whether a live one was ended.
func (s *Sessions) Revoke(ctx context.Context, tokenHash []byte, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL`, tokenHash, now)
	if err != nil {
		return false, fmt.Errorf("revoke session: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// RevokeUser ends every session of userID and returns how many.
func (s *Sessions) RevokeUser(ctx context.Context, userID uuid.UUID, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL`, userID, now)
	if err != nil {
		return 0, fmt.Errorf("revoke sessions of %s: %w", userID, err)
	}
	return tag.RowsAffected(), nil
}

// DeleteExpired removes sessions that expired or were revoked before cutoff.
func (s *Sessions) DeleteExpired(ctx context.Context, cutoff time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}
