// Package eventstore owns Herald's source of truth: the PostgreSQL events
// table. It appends events to streams with optimistic concurrency and
// idempotent event ids, holds set-based uniqueness claims in the same
// transaction, loads a stream's history, reads the whole store in commit order
// without ever skipping a late-committing transaction, and runs the relay that
// publishes that order to the bus (the events table is the outbox). It also
// owns the advisory locks that elect one process for a job (RunExclusive)
// and the connection pool's defaults.
package eventstore
