package app

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	api "github.com/heraldmail/herald/http"
	"github.com/heraldmail/herald/migrations"
)

// readinessCheckers are the conditions of /readyz: the API cannot serve
// without PostgreSQL and Redis, nor while migrations are pending (the code
// then expects tables that are not there yet).
func readinessCheckers(pool *pgxpool.Pool, rdb *redis.Client) []api.Checker {
	return []api.Checker{
		api.CheckFunc("postgres", pool.Ping),
		api.CheckFunc("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() }),
		api.CheckFunc("migrations", func(ctx context.Context) error {
			n, err := migrations.Pending(ctx, pool)
			if err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%d migrations pending", n)
			}
			return nil
		}),
	}
}
