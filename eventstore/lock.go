package eventstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
)

// LockKey turns a name into a PostgreSQL advisory lock key.
func LockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("herald:" + name))
	return int64(h.Sum64())
}

// ErrLockLost means the connection holding an exclusive lock went away, so
// another process may hold it now.
var ErrLockLost = errors.New("eventstore: advisory lock lost")

// RunExclusive waits until this process holds the session advisory lock
// name (retrying every wait), then runs fn. fn's context is cancelled when ctx
// ends or when the lock's connection dies (then another process may take
// over, so fn must stop). The lock is held on a dedicated connection outside
// any pool, and released when fn returns.
func RunExclusive(ctx context.Context, cfg *pgx.ConnConfig, name string, wait time.Duration, fn func(ctx context.Context) error) error {
	key := LockKey(name)
	for {
		conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
		if err == nil {
			var got bool
			if err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err == nil && got {
				return runHolding(ctx, conn, name, fn)
			}
			_ = conn.Close(context.WithoutCancel(ctx))
		}
		// Not reaching PostgreSQL is retried like a lock held elsewhere.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func runHolding(ctx context.Context, conn *pgx.Conn, name string, fn func(ctx context.Context) error) error {
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				pctx, pcancel := context.WithTimeout(runCtx, 3*time.Second)
				err := conn.Ping(pctx)
				pcancel()
				if err != nil && runCtx.Err() == nil {
					cancel(fmt.Errorf("%w: %s: %v", ErrLockLost, name, err))
					return
				}
			}
		}
	}()
	err := fn(runCtx)
	if cause := context.Cause(runCtx); errors.Is(cause, ErrLockLost) {
		err = cause
	}
	cancel(nil)
	<-watchDone
	closeCtx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer ccancel()
	_, _ = conn.Exec(closeCtx, `SELECT pg_advisory_unlock_all()`)
	_ = conn.Close(closeCtx)
	return err
}
