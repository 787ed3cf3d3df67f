package domain

import (
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestScheduleRunAt(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	berlin := mustLoc(t, "Europe/Berlin")
	at := func(loc *time.Location, y int, mo time.Month, d, h, mi int) time.Time {
		return time.Date(y, mo, d, h, mi, 0, 0, loc)
	}
	tests := []struct {
		name string
		s    Schedule
		k    int
		want time.Time
	}{
		{"once is the start", Schedule{Start: at(time.UTC, 2026, 1, 5, 9, 0), Periodicity: Once}, 0, at(time.UTC, 2026, 1, 5, 9, 0)},
		{"daily next day", Schedule{Start: at(time.UTC, 2026, 1, 31, 9, 0), Periodicity: Daily}, 1, at(time.UTC, 2026, 2, 1, 9, 0)},
		{"daily across spring forward stays 09:00 local", Schedule{Start: at(ny, 2026, 3, 7, 9, 0), Periodicity: Daily, Location: ny}, 1, at(ny, 2026, 3, 8, 9, 0)},
		{"daily across fall back stays 09:00 local", Schedule{Start: at(berlin, 2026, 10, 24, 9, 0), Periodicity: Daily, Location: berlin}, 2, at(berlin, 2026, 10, 26, 9, 0)},
		{"daily in the skipped hour moves forward", Schedule{Start: at(ny, 2026, 3, 7, 2, 30), Periodicity: Daily, Location: ny}, 1, time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC)},
		{"daily in the repeated hour is the first one", Schedule{Start: at(ny, 2026, 10, 31, 1, 30), Periodicity: Daily, Location: ny}, 1, time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)},
		{"weekly", Schedule{Start: at(time.UTC, 2026, 12, 28, 9, 0), Periodicity: Weekly}, 2, at(time.UTC, 2027, 1, 11, 9, 0)},
		{"weekly across DST", Schedule{Start: at(berlin, 2026, 3, 23, 8, 0), Periodicity: Weekly, Location: berlin}, 1, at(berlin, 2026, 3, 30, 8, 0)},
		{"monthly on the 31st clamps to February", Schedule{Start: at(time.UTC, 2026, 1, 31, 9, 0), Periodicity: Monthly}, 1, at(time.UTC, 2026, 2, 28, 9, 0)},
		{"monthly returns to the 31st after a short month", Schedule{Start: at(time.UTC, 2026, 1, 31, 9, 0), Periodicity: Monthly}, 2, at(time.UTC, 2026, 3, 31, 9, 0)},
		{"monthly on the 31st in a 30-day month", Schedule{Start: at(time.UTC, 2026, 1, 31, 9, 0), Periodicity: Monthly}, 3, at(time.UTC, 2026, 4, 30, 9, 0)},
		{"monthly leap February", Schedule{Start: at(time.UTC, 2027, 12, 30, 9, 0), Periodicity: Monthly}, 2, at(time.UTC, 2028, 2, 29, 9, 0)},
		{"monthly across the year", Schedule{Start: at(time.UTC, 2026, 11, 15, 9, 0), Periodicity: Monthly}, 3, at(time.UTC, 2027, 2, 15, 9, 0)},
		{"start given in another zone is read in the mailing's", Schedule{Start: time.Date(2026, 3, 7, 14, 0, 0, 0, time.UTC), Periodicity: Daily, Location: ny}, 1, at(ny, 2026, 3, 8, 9, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.s.RunAt(tt.k)
			if !got.Equal(tt.want) {
				t.Fatalf("RunAt(%d) = %s, want %s", tt.k, got, tt.want)
			}
		})
	}
}

func TestScheduleNext(t *testing.T) {
	utc := func(mo time.Month, d, h int) time.Time { return time.Date(2026, mo, d, h, 0, 0, 0, time.UTC) }
	daily := Schedule{Start: utc(1, 1, 9), End: utc(1, 4, 9), Periodicity: Daily}
	tests := []struct {
		name   string
		s      Schedule
		t      time.Time
		wantK  int
		wantAt time.Time
		wantOK bool
	}{
		{"before start is run 0", daily, utc(1, 1, 0), 0, utc(1, 1, 9), true},
		{"exactly at a run is that run", daily, utc(1, 2, 9), 1, utc(1, 2, 9), true},
		{"between runs is the next", daily, utc(1, 2, 10), 2, utc(1, 3, 9), true},
		{"a run at end_at does not happen", daily, utc(1, 3, 10), 0, time.Time{}, false},
		{"after end nothing", daily, utc(2, 1, 0), 0, time.Time{}, false},
		{"once before start", Schedule{Start: utc(1, 1, 9), End: utc(1, 2, 9), Periodicity: Once}, utc(1, 1, 8), 0, utc(1, 1, 9), true},
		{"once after start has no next", Schedule{Start: utc(1, 1, 9), End: utc(1, 2, 9), Periodicity: Once}, utc(1, 1, 10), 0, time.Time{}, false},
		{"end before start has none", Schedule{Start: utc(1, 2, 9), End: utc(1, 1, 9), Periodicity: Daily}, utc(1, 1, 0), 0, time.Time{}, false},
		{"unknown periodicity has none", Schedule{Start: utc(1, 1, 9), End: utc(1, 2, 9), Periodicity: "hourly"}, utc(1, 1, 0), 0, time.Time{}, false},
		{"monthly far ahead", Schedule{Start: utc(1, 31, 9), End: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Periodicity: Monthly}, time.Date(2028, 2, 2, 0, 0, 0, 0, time.UTC), 25, time.Date(2028, 2, 29, 9, 0, 0, 0, time.UTC), true},
		{"weekly just after a run", Schedule{Start: utc(1, 5, 9), End: utc(12, 31, 0), Periodicity: Weekly}, utc(1, 12, 9).Add(time.Second), 2, utc(1, 19, 9), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, at, ok := tt.s.Next(tt.t)
			if ok != tt.wantOK || k != tt.wantK || !at.Equal(tt.wantAt) {
				t.Fatalf("Next(%s) = %d, %s, %v; want %d, %s, %v", tt.t, k, at, ok, tt.wantK, tt.wantAt, tt.wantOK)
			}
		})
	}
}

func TestScheduleAfterIsStrict(t *testing.T) {
	s := Schedule{Start: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), Periodicity: Daily}
	k, at, ok := s.After(s.Start)
	if !ok || k != 1 || !at.Equal(s.Start.AddDate(0, 0, 1)) {
		t.Fatalf("After(start) = %d %s %v", k, at, ok)
	}
}

// Every run of a long daily schedule in a DST zone is at 09:00 local, runs
// are strictly increasing, and Next finds each run from just before it.
func TestScheduleDailyYearInvariant(t *testing.T) {
	loc := mustLoc(t, "Europe/London")
	s := Schedule{Start: time.Date(2026, 1, 1, 9, 0, 0, 0, loc), End: time.Date(2027, 1, 1, 0, 0, 0, 0, loc), Periodicity: Daily, Location: loc}
	prev := time.Time{}
	n := 0
	for k := 0; ; k++ {
		at := s.RunAt(k)
		if !at.Before(s.End) {
			break
		}
		n++
		if l := at.In(loc); l.Hour() != 9 || l.Minute() != 0 {
			t.Fatalf("run %d at %s local", k, l)
		}
		if !at.After(prev) {
			t.Fatalf("run %d at %s not after %s", k, at, prev)
		}
		gk, gat, ok := s.Next(at.Add(-time.Minute))
		if !ok || gk != k || !gat.Equal(at) {
			t.Fatalf("Next before run %d = %d %s %v", k, gk, gat, ok)
		}
		prev = at
	}
	if n != 365 {
		t.Fatalf("%d runs in 2026, want 365", n)
	}
}
