package eventstore

import "context"

// SaveRelayState stores st as r's checkpoint, as the relay does on its way
// out.
func SaveRelayState(ctx context.Context, r *Relay, st RelayState) error { return r.saveState(ctx, st) }

// RelayReads is how many times r has read the store.
func RelayReads(r *Relay) int64 { return r.reads.Load() }
