package domain

import (
	"testing"
	"time"
)

func TestNextRun(t *testing.T) {
	start := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	s := Schedule{Start: start, End: start.Add(30 * 24 * time.Hour), Periodicity: Weekly}
	inWindow := start.Add(time.Hour)
	tests := []struct {
		name   string
		status MailingStatus
		active bool
		at     time.Time
		want   time.Time // zero: none
	}{
		{"before the window", StatusCreated, true, start.Add(-time.Hour), start},
		{"never sent, window open: at once", StatusCreated, true, inWindow, inWindow},
		{"started: the next on the schedule", StatusStarted, true, inWindow, start.Add(7 * 24 * time.Hour)},
		{"inactive", StatusCreated, false, start.Add(-time.Hour), time.Time{}},
		{"completed", StatusCompleted, true, start.Add(-time.Hour), time.Time{}},
		{"past the end", StatusCreated, true, s.End, time.Time{}},
	}
	for _, tt := range tests {
		got, ok := NextRun(s, tt.status, tt.active, tt.at)
		if ok != !tt.want.IsZero() || !got.Equal(tt.want) {
			t.Errorf("%s: %v %v, want %v", tt.name, got, ok, tt.want)
		}
	}
}
