package soak

import (
	"errors"
	"math"
	"testing"
	"time"
)

// series builds samples a minute apart from values.
func series(values ...float64) []Sample {
	out := make([]Sample, len(values))
	for i, v := range values {
		out[i] = Sample{At: time.Duration(i+1) * time.Minute, Value: v}
	}
	return out
}

func TestSlopeIsTheLeastSquaresFit(t *testing.T) {
	// y = 3x + 1 per minute, with symmetric noise that cancels out.
	s := series(4, 7.5, 9.5, 13)
	got := Slope(s) * float64(time.Minute)
	if math.Abs(got-2.9) > 1e-9 {
		t.Fatalf("slope %.4f/min, want 2.9", got)
	}
	if Slope(series(5)) != 0 || Slope(nil) != 0 {
		t.Fatal("a single sample has no slope")
	}
}

func TestCheckFlagsSteadyGrowth(t *testing.T) {
	limit := Limit{PerMinute: 5, Factor: 1.5, Slack: 20}
	cases := []struct {
		name   string
		values []float64
		grows  bool
	}{
		// A goroutine leak: 30 more every interval, from warm-up to the end.
		{"linear leak", []float64{100, 130, 160, 190, 220, 250, 280, 310, 340, 370}, true},
		// A leak that starts late still shows in the second half.
		{"late leak", []float64{100, 100, 100, 100, 100, 100, 160, 220, 280, 340}, true},
		{"flat", []float64{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}, false},
		{"noise", []float64{100, 140, 110, 135, 105, 142, 101, 139, 104, 138}, false},
		// Warm-up: pools fill, then hold.
		{"step then plateau", []float64{20, 180, 200, 200, 201, 200, 199, 200, 200, 200}, false},
		// A one-off step that then holds: high, but not growing.
		{"step then hold", []float64{100, 100, 100, 400, 400, 400, 400, 400, 400, 400}, false},
		// Rising faster than PerMinute at the end, but still within
		// Factor × baseline + Slack.
		{"small rise", []float64{100, 100, 100, 100, 100, 100, 108, 116, 124, 132}, false},
		// Shrinking is never growth.
		{"draining", []float64{500, 450, 400, 350, 300, 250, 200, 150, 100, 50}, false},
		// Too short to show a trend.
		{"three samples", []float64{100, 200, 300}, false},
	}
	for _, c := range cases {
		err := Check("goroutines", series(c.values...), limit)
		var g *Growth
		if got := errors.As(err, &g); got != c.grows {
			t.Errorf("%s: grows=%v (%v), want %v", c.name, got, err, c.grows)
		}
		if g != nil && (g.Name != "goroutines" || g.Last != c.values[len(c.values)-1] || g.Baseline != c.values[1]) {
			t.Errorf("%s: growth %+v", c.name, g)
		}
	}
}

// The slope is per minute whatever the interval: a short run with 10 s
// intervals is judged by the same limits as a 10 min run.
func TestCheckScalesTheSlopeToMinutes(t *testing.T) {
	limit := Limit{PerMinute: 60, Factor: 1, Slack: 0}
	var s []Sample
	for i := range 6 {
		// 15 per 10 s = 90 per minute.
		s = append(s, Sample{At: time.Duration(i) * 10 * time.Second, Value: float64(100 + 15*i)})
	}
	if err := Check("lag", s, limit); err == nil {
		t.Fatal("90/min passed a limit of 60/min")
	}
	limit.PerMinute = 100
	if err := Check("lag", s, limit); err != nil {
		t.Fatalf("90/min failed a limit of 100/min: %v", err)
	}
}
