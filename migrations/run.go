package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// Provider returns a goose provider over the embedded files for pool's database.
// The returned close function releases the database/sql handle.
func Provider(pool *pgxpool.Pool) (*goose.Provider, func() error, error) {
	db := stdlib.OpenDBFromPool(pool)
	p, err := provider(db)
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return p, db.Close, nil
}

func provider(db *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(FS, ".")
	if err != nil {
		return nil, err
	}
	// Areas number their migrations in ranges (CONTRIBUTING.md), so a new
	// platform migration can be lower than an area's already applied one;
	// goose applies such a missing lower version instead of refusing.
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithAllowOutofOrder(true))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Up applies every pending migration.
func Up(ctx context.Context, pool *pgxpool.Pool) error {
	p, closeDB, err := Provider(pool)
	if err != nil {
		return err
	}
	defer closeDB()
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: up: %w", err)
	}
	return nil
}

// Pending reports how many migrations are not applied yet.
func Pending(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	p, closeDB, err := Provider(pool)
	if err != nil {
		return 0, err
	}
	defer closeDB()
	st, err := p.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrations: status: %w", err)
	}
	n := 0
	for _, s := range st {
		if s.State == goose.StatePending {
			n++
		}
	}
	return n, nil
}
