package domain

import "time"

// NextRun is when a mailing in this state runs next, as of at: at itself
// when it never sent and its window is open (it starts at once), otherwise
// the next run on its schedule; none (ok false) when it is not active,
// completed, or past its end. The saga's schedule is the authority (it may
// skip or fire late); this is the figure readers are shown.
func NextRun(s Schedule, status MailingStatus, active bool, at time.Time) (next time.Time, ok bool) {
	if !active || status == StatusCompleted {
		return time.Time{}, false
	}
	if status == StatusCreated && !at.Before(s.Start) && at.Before(s.End) {
		return at, true
	}
	_, next, ok = s.After(at)
	return next, ok
}

// NextRun is NextRun for the mailing as it stands (a deleted one has none).
func (m *Mailing) NextRun(at time.Time) (time.Time, bool) {
	return NextRun(m.Schedule(), m.status, m.active && !m.deleted, at)
}
