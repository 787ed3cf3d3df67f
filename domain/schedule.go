package domain

import (
	"fmt"
	"time"
)

// Schedule is the arithmetic of a mailing's runs. Run k is at start_at
// plus k periods, counted on the wall clock of the mailing's time zone:
// a daily mailing at 09:00 stays at 09:00 local across DST changes, and a
// monthly mailing started on the 31st runs on the last day of shorter
// months (and on the 31st again when the month has one). No run is at or
// after End; a Once schedule has only run 0.
type Schedule struct {
	Start       time.Time
	End         time.Time
	Periodicity Periodicity
	// Location is the mailing's time zone; nil means UTC.
	Location *time.Location
}

// maxRuns bounds the search for a run after a given time; a daily mailing
// over 100 years has about 36,500 runs.
const maxRuns = 1 << 20

// RunAt returns the wall-clock time of run k (k ≥ 0), whether or not it
// falls before End.
func (s Schedule) RunAt(k int) time.Time {
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	st := s.Start.In(loc)
	y, mo, d := st.Date()
	h, mi, sec := st.Clock()
	ns := st.Nanosecond()
	switch s.Periodicity {
	case Daily:
		d += k
	case Weekly:
		d += 7 * k
	case Monthly:
		// Months are counted from the start month, not from the previous
		// run, so one short month does not pull every later run earlier.
		first := time.Date(y, mo+time.Month(k), 1, 0, 0, 0, 0, loc)
		y, mo = first.Year(), first.Month()
		if last := daysIn(y, mo, loc); d > last {
			d = last
		}
	default:
		if k != 0 {
			// Once has no run after the first; callers check k through Next.
			panic(fmt.Sprintf("domain: run %d of a %q schedule", k, s.Periodicity))
		}
	}
	return wallClock(y, mo, d, h, mi, sec, ns, loc)
}

// wallClock is time.Date, except that a wall time which does not exist (the
// hour skipped when clocks go forward) is moved forward by the length of the
// gap, as cron does: 02:30 on a spring-forward night is 03:30. An ambiguous
// wall time (clocks going back) is its first occurrence.
func wallClock(y int, mo time.Month, d, h, mi, sec, ns int, loc *time.Location) time.Time {
	t := time.Date(y, mo, d, h, mi, sec, ns, loc)
	// time.Date normalises the day overflow first; compare against the
	// normalised calendar date so only a DST gap shows as a difference.
	want := time.Date(y, mo, d, h, mi, sec, ns, time.UTC)
	got := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	if diff := want.Sub(got); diff > 0 {
		return t.Add(diff)
	}
	return t
}

func daysIn(y int, mo time.Month, loc *time.Location) int {
	return time.Date(y, mo+1, 0, 12, 0, 0, 0, loc).Day()
}

// Valid reports whether the schedule can produce runs at all.
func (s Schedule) Valid() bool {
	return s.Periodicity.Valid() && s.Start.Before(s.End)
}

// Next returns the index and time of the first run at or after t that is
// before End; ok is false when there is none.
func (s Schedule) Next(t time.Time) (k int, at time.Time, ok bool) {
	if !s.Valid() {
		return 0, time.Time{}, false
	}
	if !t.After(s.Start) {
		return 0, s.RunAt(0), true
	}
	if s.Periodicity == Once {
		return 0, time.Time{}, false
	}
	// Estimate k from the average period, then step to the exact run.
	var period time.Duration
	switch s.Periodicity {
	case Daily:
		period = 24 * time.Hour
	case Weekly:
		period = 7 * 24 * time.Hour
	case Monthly:
		period = time.Duration(30.436875 * 24 * float64(time.Hour))
	}
	k = max(int(t.Sub(s.Start)/period)-1, 0)
	for ; k < maxRuns; k++ {
		at = s.RunAt(k)
		if !at.Before(s.End) {
			return 0, time.Time{}, false
		}
		if !at.Before(t) {
			return k, at, true
		}
	}
	return 0, time.Time{}, false
}

// After returns the first run strictly after t and before End.
func (s Schedule) After(t time.Time) (k int, at time.Time, ok bool) {
	return s.Next(t.Add(time.Nanosecond))
}
