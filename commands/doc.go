// Package commands owns the write side: one type and one handler per command
// (CreateMailing, ToggleMailing, …). A handler loads the aggregate from the
// event store, lets it decide, and appends what it recorded with the expected
// version, retrying a bounded number of times on a concurrent change. It
// declares the small store interface it needs; internal/app wires the store.
package commands
