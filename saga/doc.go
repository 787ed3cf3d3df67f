// Package saga owns the mailing process manager: the scheduler, which keeps
// the durable schedule table (saga_schedule) from mailing events and fires
// each due run exactly once across any number of processes (rows claimed
// with FOR UPDATE SKIP LOCKED, run ids derived from the due time), records
// runs missed beyond the grace period, and runs due while the mailing's
// owner is blocked, as skipped, completes mailings after their last run,
// and watches every started run (saga_runs), handing one
// that shows no progress for StallAfter to the senders again (its command
// was lost); and the sender, which consumes DispatchMailing commands from a
// Redis stream (consumer group "sender"), delivers a run's message to each
// client over SMTP with bounded concurrency, records every attempt as
// run.delivery_attempted in batches, defers a delivery that fails
// temporarily to the next time on the retry schedule (the scheduler hands
// the run back when it is due: saga_runs.retry_at), resumes an interrupted
// run without mailing anyone twice, pauses a mailing whose run fails too
// often, and stops a run whose owner is blocked (a look at the owner's
// stream once a second, asked by every delivery).
// Time comes from an injected Clock so tests never sleep.
package saga
