// Package faults is Herald's fault suite: it runs real `herald serve`
// processes against a private PostgreSQL cluster, a private Redis and an
// SMTP sink behind a proxy the suite controls, breaks one of them on purpose
// while a mailing sends, and checks from outside that every recipient got
// exactly one copy (a bounded few more after a SIGKILL), that every attempt
// is an event, that the report equals a recount of the events and that the
// read models equal a fresh rebuild.
//
// The suite lives in this package's tests. `make faults` runs every
// scenario at full size (HERALD_FAULTS=all); a plain `go test` runs the
// quick form: two scenarios at a small size.
package faults
