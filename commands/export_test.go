package commands

// MaxAttempts is how often a command without If-Match runs its
// load-decide-append before it gives up with domain.ErrConflict.
const MaxAttempts = maxAttempts

// SetImportLimits sets how many clients one commit of an import creates
// and how many rows it reads at most.
func SetImportLimits(h *ClientImporter, batch, maxRows int) { h.batch, h.maxRows = batch, maxRows }
