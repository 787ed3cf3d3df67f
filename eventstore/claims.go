package eventstore

import (
	"context"
	"fmt"
)

// Claimed returns which of keys are claimed in scope. Claims are written in
// a commit's own transaction, so the answer never lags behind a commit, as a
// read model may: a bulk writer asks it to leave out what is already taken
// instead of losing a whole commit to one taken claim.
func (s *Store) Claimed(ctx context.Context, scope string, keys []string) ([]string, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT key FROM unique_claims WHERE scope = $1 AND key = ANY($2)`, scope, keys)
	if err != nil {
		return nil, fmt.Errorf("eventstore: claimed keys: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("eventstore: claimed keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("eventstore: claimed keys: %w", err)
	}
	return out, nil
}
