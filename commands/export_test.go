package commands

// MaxAttempts is how often a command without If-Match runs its
// load-decide-append before it gives up with domain.ErrConflict.
const MaxAttempts = maxAttempts
