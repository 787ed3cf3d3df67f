package domain

// Root is embedded by every aggregate. It counts the version loaded from
// history (the expected version of the next append) and collects the events
// recorded by command methods since.
//
// The pattern each aggregate follows: command methods check invariants and
// call record; record passes the event to the aggregate's single apply
// switch, the only place state changes; loading history calls the same
// apply through Replay and never re-checks rules.
type Root struct {
	version int64
	changes []Event
}

// Version is the stream version the aggregate was loaded at.
func (r *Root) Version() int64 { return r.version }

// Changes are the events recorded since loading, oldest first.
func (r *Root) Changes() []Event { return r.changes }

// record keeps e as a new change and applies it.
func (r *Root) record(apply func(Event), e Event) {
	apply(e)
	r.changes = append(r.changes, e)
}

// replay applies history without recording it.
func (r *Root) replay(apply func(Event), history []Event) {
	for _, e := range history {
		apply(e)
		r.version++
	}
}
