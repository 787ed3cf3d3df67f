package eventstore

import "context"

// SaveRelayState stores st as r's checkpoint, as the relay does on its way
// out.
func SaveRelayState(ctx context.Context, r *Relay, st RelayState) error { return r.saveState(ctx, st) }
