package projections

import "time"

// SetRecheck lets a test turn the waiter's safety recheck off, so only a
// checkpoint's notification can wake it.
func SetRecheck(w *Waiter, d time.Duration) { w.recheck = d }
