// Package commands owns the write side: one type and one handler per command
// (CreateMailing, ToggleMailing, …). A handler loads the aggregate from the
// event store, lets it decide, and appends what it recorded with the expected
// version, retrying a bounded number of times on a concurrent change. It
// declares the small store interface it needs; internal/app wires the store
// and wraps every handler in the Decorator (a log line and metrics per
// command). Every change goes through a handler, the saga's too, and every
// event carries the audit trail in its metadata: the actor (none for the
// saga), the correlation (the HTTP request's id, or a scheduled run's own)
// and the causation: none for a person's own command; for the saga's, the
// event it follows from. A scheduled run, its skip and the completion at
// the end of the window follow from the mailing event that set the schedule
// (created, updated or enabled); a run's deliveries and end from its
// run.started; a pause after too many failures, and the completion of a
// once mailing, from the run's run.finished.
package commands
