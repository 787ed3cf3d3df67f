package domain

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// RunStreamType names run streams: one stream per run of a mailing, holding
// its start, its deliveries and its end, so a 100,000-client run does not
// bloat the mailing's own stream.
const RunStreamType = "run"

// Run triggers: what asked for the run.
const (
	TriggerSchedule = "schedule" // the saga, at a scheduled time
	TriggerManual   = "manual"   // the owner, POST /mailings/{id}/dispatch
	TriggerConsole  = "console"  // herald send
)

// Run events.
type (
	// RunStarted says a run of a mailing was dispatched: from now on the
	// senders deliver the mailing's message to its clients.
	RunStarted struct {
		RunID     uuid.UUID `json:"run_id"`
		MailingID uuid.UUID `json:"mailing_id"`
		OwnerID   uuid.UUID `json:"owner_id"`
		MessageID uuid.UUID `json:"message_id"`
		Trigger   string    `json:"trigger"`
		// DueAt is the scheduled time the run stands for (for a manual or
		// console run, the time it was asked for).
		DueAt     time.Time `json:"due_at"`
		StartedAt time.Time `json:"started_at"`
		Clients   int       `json:"clients"`
		// AllClients marks a run of an all-clients mailing: it mails the
		// owner's clients as the store held them at ClientsAsOf (see
		// RunRecipients), a fixed set however long the run takes or how
		// often it resumes. A run of a listed mailing mails the mailing's
		// client_ids.
		AllClients  bool   `json:"all_clients,omitempty"`
		ClientsAsOf string `json:"clients_as_of,omitempty"`
	}
	// DeliveryAttempted is one SMTP attempt to deliver the run's message to
	// one client, with the server's reply. A client may have several
	// attempts in a run: a temporary failure (4xx, no answer) defers the
	// delivery to RetryAt, as an MTA does; once an attempt is final (a
	// success, or a failure not retried) the client is never mailed again
	// in that run.
	DeliveryAttempted struct {
		MailingID      uuid.UUID `json:"mailing_id"`
		ClientID       uuid.UUID `json:"client_id"`
		Email          string    `json:"email"`
		Success        bool      `json:"success"`
		ServerResponse string    `json:"server_response"`
		AttemptedAt    time.Time `json:"attempted_at"`
		Attempt        int       `json:"attempt"`
		// Permanent marks a failure the run does not retry: a 5xx reply, or
		// the last of the temporary failures it allows.
		Permanent bool `json:"permanent,omitempty"`
		// RetryAt is when a deferred delivery is tried again; set only on a
		// temporary failure that is not final.
		RetryAt *time.Time `json:"retry_at,omitempty"`
		// Skipped is why nothing was sent (SkipUnsubscribed,
		// SkipSuppressed): a final attempt that is neither a success nor a
		// failure.
		Skipped string `json:"skipped,omitempty"`
	}
	// DeliveriesAttempted is a batch of SMTP attempts of the run, recorded
	// together: the sender appends what it attempted while its last append
	// committed as one event, whose attempts are each what a
	// DeliveryAttempted says (Expand). Runs recorded before batches hold
	// DeliveryAttempted events, one per attempt; readers take both.
	DeliveriesAttempted struct {
		MailingID uuid.UUID        `json:"mailing_id"`
		Attempts  []AttemptOutcome `json:"attempts"`
	}
	// RunFinished closes a run: Sent clients got the message, Failed did
	// not, Skipped were not mailed (unsubscribed or suppressed).
	RunFinished struct {
		MailingID  uuid.UUID `json:"mailing_id"`
		Sent       int       `json:"sent"`
		Failed     int       `json:"failed"`
		Skipped    int       `json:"skipped,omitempty"`
		FinishedAt time.Time `json:"finished_at"`
		// Stopped says why the run ended before trying every client (its
		// failure share crossed the pause threshold, its owner was
		// blocked); empty when it did not.
		Stopped string `json:"stopped,omitempty"`
		// Unsent counts the deliveries a stopped run did not make: clients
		// never attempted and deferred deliveries not retried.
		Unsent int `json:"unsent,omitempty"`
	}
	// RunSkipped says a scheduled run was not made, and Reason why: it was
	// missed by more than the grace period while Herald was down, and firing
	// it late (or a burst of missed runs at once) would surprise the
	// recipients; or the mailing's owner was blocked when it was due
	// (OwnerBlockedReason).
	RunSkipped struct {
		RunID     uuid.UUID `json:"run_id"`
		MailingID uuid.UUID `json:"mailing_id"`
		OwnerID   uuid.UUID `json:"owner_id"`
		DueAt     time.Time `json:"due_at"`
		SkippedAt time.Time `json:"skipped_at"`
		Reason    string    `json:"reason"`
	}
)

// AttemptOutcome is one attempt of a DeliveriesAttempted: a
// DeliveryAttempted without the mailing, which the batch names once. Fields
// that are false or empty are left out of its JSON.
type AttemptOutcome struct {
	ClientID       uuid.UUID  `json:"client_id"`
	Email          string     `json:"email"`
	Success        bool       `json:"success,omitempty"`
	ServerResponse string     `json:"server_response"`
	AttemptedAt    time.Time  `json:"attempted_at"`
	Attempt        int        `json:"attempt"`
	Permanent      bool       `json:"permanent,omitempty"`
	RetryAt        *time.Time `json:"retry_at,omitempty"`
	Skipped        string     `json:"skipped,omitempty"`
}

// MaxAttemptsPerEvent bounds the attempts of one DeliveriesAttempted, so
// an attempt's place in the store fits AttemptKey.
const MaxAttemptsPerEvent = 1 << 16

// BatchAttempts makes the batch event of a run's attempts of one mailing.
func BatchAttempts(attempts []DeliveryAttempted) DeliveriesAttempted {
	e := DeliveriesAttempted{Attempts: make([]AttemptOutcome, len(attempts))}
	for i, a := range attempts {
		e.MailingID = a.MailingID
		e.Attempts[i] = AttemptOutcome{ClientID: a.ClientID, Email: a.Email, Success: a.Success, ServerResponse: a.ServerResponse,
			AttemptedAt: a.AttemptedAt, Attempt: a.Attempt, Permanent: a.Permanent, RetryAt: a.RetryAt, Skipped: a.Skipped}
	}
	return e
}

// Expand returns the batch's attempts one by one, as DeliveryAttempted
// events would have recorded them.
func (e DeliveriesAttempted) Expand() []DeliveryAttempted {
	out := make([]DeliveryAttempted, len(e.Attempts))
	for i := range e.Attempts {
		out[i] = e.attempt(i)
	}
	return out
}

// attempt is the batch's i-th attempt as a DeliveryAttempted.
func (e DeliveriesAttempted) attempt(i int) DeliveryAttempted {
	a := e.Attempts[i]
	return DeliveryAttempted{MailingID: e.MailingID, ClientID: a.ClientID, Email: a.Email, Success: a.Success,
		ServerResponse: a.ServerResponse, AttemptedAt: a.AttemptedAt, Attempt: a.Attempt, Permanent: a.Permanent,
		RetryAt: a.RetryAt, Skipped: a.Skipped}
}

// AttemptsIn returns the attempts an event records, without their ids:
// one for a DeliveryAttempted, each of a DeliveriesAttempted's, none for
// another event.
func AttemptsIn(e Event) []DeliveryAttempted {
	switch e := e.(type) {
	case DeliveryAttempted:
		return []DeliveryAttempted{e}
	case DeliveriesAttempted:
		return e.Expand()
	}
	return nil
}

// AttemptID is the id of the index-th attempt of the DeliveriesAttempted
// event eventID: derived, so every reader names it alike and storing it
// costs nothing. An attempt recorded alone (DeliveryAttempted) has its
// event's id.
func AttemptID(eventID uuid.UUID, index int) uuid.UUID {
	return uuid.NewSHA1(eventID, []byte("attempt#"+strconv.Itoa(index)))
}

// AttemptKey is an attempt's place in store order: its event's position,
// then its index in the event (0 for an attempt recorded alone).
func AttemptKey(position int64, index int) int64 { return position<<16 | int64(index) }

// RecordedAttempt is one attempt as the store holds it, from either kind
// of event.
type RecordedAttempt struct {
	ID    uuid.UUID
	Index int // in its event; 0 for a DeliveryAttempted
	DeliveryAttempted
}

// AttemptsOf returns the attempts event eventID records with their ids,
// as AttemptsIn does.
func AttemptsOf(eventID uuid.UUID, e Event) []RecordedAttempt {
	switch e := e.(type) {
	case DeliveryAttempted:
		return []RecordedAttempt{{ID: eventID, DeliveryAttempted: e}}
	case DeliveriesAttempted:
		out := make([]RecordedAttempt, len(e.Attempts))
		for i := range e.Attempts {
			out[i] = RecordedAttempt{ID: AttemptID(eventID, i), Index: i, DeliveryAttempted: e.attempt(i)}
		}
		return out
	}
	return nil
}

// Final reports whether the attempt ends its delivery: a success, a
// failure the run does not retry, or a skip.
func (a DeliveryAttempted) Final() bool { return a.Success || a.Permanent || a.Skipped != "" }

// Note says why a run stopped early and how many deliveries it did not
// make ("" for a run that tried every client), as the run's history shows it.
func (e RunFinished) Note() string {
	if e.Stopped == "" || e.Unsent == 0 {
		return e.Stopped
	}
	return fmt.Sprintf("%s; %d deliveries not made", e.Stopped, e.Unsent)
}

// Bounced reports whether the attempt is a hard bounce: a 5xx reply.
func (a DeliveryAttempted) Bounced() bool {
	hard, _ := IsHardBounce(a.ServerResponse)
	return !a.Success && a.Skipped == "" && hard
}

// Deferred reports whether the delivery waits for another attempt.
func (a DeliveryAttempted) Deferred() bool { return !a.Final() }

// DefaultRetrySchedule is the retry schedule of a delivery that fails
// temporarily (SEND_RETRY_SCHEDULE): delays after its first attempt, about
// four hours in all, as MTAs retry a greylisted or busy receiver.
func DefaultRetrySchedule() []time.Duration {
	return []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour}
}

// NextRetry is when a delivery that failed temporarily at now is tried
// again: the first of first+schedule[i] (first is the delivery's first
// attempt, schedule strictly increasing) after now, so a late attempt (the
// service was down) skips the retries it missed instead of making them at
// once. ok is false once the schedule is spent: that failure is final.
func NextRetry(schedule []time.Duration, first, now time.Time) (at time.Time, ok bool) {
	for _, d := range schedule {
		if at := first.Add(d); at.After(now) {
			return at.UTC(), true
		}
	}
	return time.Time{}, false
}

func (RunStarted) EventType() string          { return "run.started" }
func (DeliveryAttempted) EventType() string   { return "run.delivery_attempted" }
func (DeliveriesAttempted) EventType() string { return "run.deliveries_attempted" }
func (RunFinished) EventType() string         { return "run.finished" }
func (RunSkipped) EventType() string          { return "run.skipped" }

func init() {
	RegisterEvents(RunStarted{}, DeliveryAttempted{}, DeliveriesAttempted{}, RunFinished{}, RunSkipped{})
}

// ErrMailingInactive refuses a run of a disabled or paused mailing.
var ErrMailingInactive = fmt.Errorf("%w: the mailing is disabled", ErrConflict)

// ErrOwnerBlocked refuses a run of a mailing whose owner is blocked.
var ErrOwnerBlocked = fmt.Errorf("%w: the mailing's owner is blocked", ErrConflict)

// OwnerBlockedReason is why a run due while its owner is blocked is skipped,
// and why a run in progress when its owner is blocked stops.
const OwnerBlockedReason = "its owner is blocked"

// ScheduledRunID is the id of the run that stands for a mailing's run due
// at due. Every scheduler computes the same id, so two schedulers racing
// for one due run write one run stream, never two.
func ScheduledRunID(mailingID uuid.UUID, due time.Time) uuid.UUID {
	return uuid.NewSHA1(mailingID, []byte("run@"+due.UTC().Format(time.RFC3339Nano)))
}

// DeliveryMessageKey is the local part of the Message-ID of the message a
// run sends to a client (the mail client adds the sender's domain): stable
// for the delivery key (run, client), so a resend after a crash is
// recognisable as the same message.
func DeliveryMessageKey(runID, clientID uuid.UUID) string {
	return runID.String() + "." + clientID.String()
}

// Run is one run of a mailing. Its deliveries are many; the aggregate keeps
// only what its decisions need (started, finished, skipped), and the sender
// keeps the per-client progress (see saga).
type Run struct {
	Root
	id        uuid.UUID
	mailingID uuid.UUID
	ownerID   uuid.UUID
	messageID uuid.UUID
	trigger   string
	dueAt     time.Time
	all       RunRecipients // set for a run of an all-clients mailing
	started   bool
	finished  bool
	skipped   bool
}

// RunRecipients fixes the recipients of a run of an all-clients mailing
// without listing them: AsOf is a snapshot of the event store taken when
// the run starts (saga.Roster takes and reads it), and the run mails the
// owner's clients whose creation that snapshot sees and whose deletion,
// unsubscription or suppression it does not; Count is how many they are.
// The store is append-only, so the same snapshot names the same clients
// whenever it is asked.
type RunRecipients struct {
	AsOf  string
	Count int
}

// StartRun decides the start of run id of mailing m, whose owner's account
// is owner (nil: none is known). A deleted, completed or disabled mailing
// does not run, nor does one whose owner is blocked. all fixes the
// recipients of an all-clients mailing and is ignored for a listed one.
func StartRun(id uuid.UUID, m *Mailing, owner *User, trigger string, due, now time.Time, all RunRecipients) (*Run, error) {
	if id == uuid.Nil {
		return nil, errors.New("domain: run needs an id")
	}
	if m.allClients && all.AsOf == "" {
		return nil, errors.New("domain: a run of an all-clients mailing needs its recipients fixed")
	}
	if err := m.live(); err != nil {
		return nil, err
	}
	if m.IsCompleted() {
		return nil, ErrMailingCompleted
	}
	if !m.IsActive() {
		return nil, ErrMailingInactive
	}
	if owner != nil && owner.Blocked() {
		return nil, ErrOwnerBlocked
	}
	e := RunStarted{
		RunID: id, MailingID: m.ID(), OwnerID: m.Owner(), MessageID: m.MessageID(), Trigger: trigger,
		DueAt: due.UTC(), StartedAt: now.UTC(), Clients: len(m.clientIDs),
	}
	if m.allClients {
		e.AllClients, e.ClientsAsOf, e.Clients = true, all.AsOf, all.Count
	}
	r := &Run{}
	r.record(r.apply, e)
	return r, nil
}

// SkipRun decides that mailing m's run id, due at due, is not made.
func SkipRun(id uuid.UUID, m *Mailing, due, now time.Time, reason string) *Run {
	r := &Run{}
	r.record(r.apply, RunSkipped{RunID: id, MailingID: m.ID(), OwnerID: m.Owner(), DueAt: due.UTC(), SkippedAt: now.UTC(), Reason: reason})
	return r
}

// LoadRun rebuilds a run from the head of its history. Deliveries change
// nothing the aggregate decides on, so callers may pass only the
// non-delivery events.
func LoadRun(history []Event) *Run {
	r := &Run{}
	r.replay(r.apply, history)
	return r
}

// Finish closes a started run with its totals; finishing twice records
// nothing the second time. A run that stopped early (stopped says why)
// counts the deliveries it did not make in unsent.
func (r *Run) Finish(sent, failed, skipped int, now time.Time, stopped string, unsent int) error {
	if !r.started {
		return NotFound("run")
	}
	if r.finished {
		return nil
	}
	if stopped == "" {
		unsent = 0
	}
	r.record(r.apply, RunFinished{MailingID: r.mailingID, Sent: sent, Failed: failed, Skipped: skipped, FinishedAt: now.UTC(),
		Stopped: stopped, Unsent: unsent})
	return nil
}

func (r *Run) apply(e Event) {
	switch e := e.(type) {
	case RunStarted:
		r.id, r.mailingID, r.ownerID, r.messageID = e.RunID, e.MailingID, e.OwnerID, e.MessageID
		r.trigger, r.dueAt, r.started = e.Trigger, e.DueAt, true
		if e.AllClients {
			r.all = RunRecipients{AsOf: e.ClientsAsOf, Count: e.Clients}
		}
	case RunSkipped:
		r.id, r.mailingID, r.ownerID, r.dueAt, r.skipped = e.RunID, e.MailingID, e.OwnerID, e.DueAt, true
	case RunFinished:
		r.finished = true
	}
}

// Read accessors.
func (r *Run) ID() uuid.UUID        { return r.id }
func (r *Run) MailingID() uuid.UUID { return r.mailingID }
func (r *Run) OwnerID() uuid.UUID   { return r.ownerID }
func (r *Run) MessageID() uuid.UUID { return r.messageID }
func (r *Run) Trigger() string      { return r.trigger }
func (r *Run) DueAt() time.Time     { return r.dueAt }
func (r *Run) Started() bool        { return r.started }
func (r *Run) Finished() bool       { return r.finished }
func (r *Run) Skipped() bool        { return r.skipped }

// AllClients reports whether the run mails an all-clients mailing's
// recipients fixed at its start (Recipients), not the mailing's list.
func (r *Run) AllClients() bool { return r.all.AsOf != "" }

// Recipients is what fixed an all-clients run's recipients.
func (r *Run) Recipients() RunRecipients { return r.all }
