// Package domain owns Herald's aggregates, their events and invariants, and the
// schedule arithmetic of mailings. It is pure: no I/O, no clock (callers pass
// the time in), no logging; it imports only the standard library and uuid. The
// typed event registry here maps stored type names to Go types so the event
// store can decode history into the right structs.
package domain
