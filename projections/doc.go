// Package projections owns the read side: the projectors that turn events
// into per-user read models and reports, the runtime that feeds them from the
// bus (one consumer group per projector, each event applied together with the
// projector's checkpoint in one transaction, gaps filled from the event
// store, poison events retried then parked), the Waiter behind X-Min-Position,
// the read-model queries, rebuilds from the event store, and the login
// session table (operational state, written directly, not a projection).
package projections
