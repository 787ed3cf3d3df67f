package eventstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultMaxConns is the pool size unless DATABASE_URL sets pool_max_conns.
// pgx's own default (the number of CPUs, at least 4) is far too small for a
// process that serves HTTP, runs projectors and sends at the same time.
const DefaultMaxConns = 32

// DefaultStatementCache is how many prepared statements a connection keeps
// unless DATABASE_URL sets statement_cache_capacity: more than a busy
// connection's statements, and a quarter of pgx's 512, whose map each of
// the pool's connections allocates whole when it opens.
const DefaultStatementCache = 128

// OpenPool opens a pgx pool for url with Herald's defaults.
func OpenPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	if !strings.Contains(url, "statement_cache_capacity") {
		cfg.ConnConfig.StatementCacheCapacity = DefaultStatementCache
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	return pool, nil
}
