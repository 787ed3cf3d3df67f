// Package soak holds the soak test of `make soak`: a real `herald serve`
// process under a fixed-rate mix of commands, queries, report reads and
// sends, measured once an interval, failing on any error and on any resource
// that grows without bound. This file is the growth rule; the run itself is
// soak_test.go, so nothing of it is built into the binary.
package soak

import (
	"fmt"
	"time"
)

// Sample is one measurement of a resource, taken at an offset from the
// start of the run.
type Sample struct {
	At    time.Duration
	Value float64
}

// Limit says when a series grows without bound. A series does when, over
// the second half of the run, both hold:
//
//   - its least-squares slope is above PerMinute (units per minute), and
//   - its last value is above Factor × its baseline + Slack, the baseline
//     being the first steady sample (the second one: the first interval
//     is warm-up).
//
// The slope alone would flag noise on a small series and a last value alone
// would flag a one-off step that then holds; a leak does both. A series of
// fewer than four samples cannot show a trend and passes.
type Limit struct {
	PerMinute float64
	Factor    float64
	Slack     float64
}

// Growth is a series found to grow without bound.
type Growth struct {
	Name      string
	PerMinute float64 // the slope over the second half
	Baseline  float64
	Last      float64
	Limit     Limit
}

func (g Growth) Error() string {
	return fmt.Sprintf("%s grows without bound: %+.1f/min over the second half (limit %.1f), last %.1f > %.1f × baseline %.1f + %.1f",
		g.Name, g.PerMinute, g.Limit.PerMinute, g.Last, g.Limit.Factor, g.Baseline, g.Limit.Slack)
}

// Check returns a *Growth when samples grow without bound under l, else nil.
func Check(name string, samples []Sample, l Limit) error {
	if len(samples) < 4 {
		return nil
	}
	baseline := samples[1].Value
	last := samples[len(samples)-1].Value
	slope := Slope(samples[len(samples)/2:]) * float64(time.Minute)
	if slope > l.PerMinute && last > l.Factor*baseline+l.Slack {
		return &Growth{Name: name, PerMinute: slope, Baseline: baseline, Last: last, Limit: l}
	}
	return nil
}

// Slope is the least-squares slope of samples, in units per nanosecond; 0
// for fewer than two distinct instants.
func Slope(samples []Sample) float64 {
	n := float64(len(samples))
	if n < 2 {
		return 0
	}
	var sx, sy float64
	for _, s := range samples {
		sx += float64(s.At)
		sy += s.Value
	}
	mx, my := sx/n, sy/n
	var sxy, sxx float64
	for _, s := range samples {
		dx := float64(s.At) - mx
		sxy += dx * (s.Value - my)
		sxx += dx * dx
	}
	if sxx == 0 {
		return 0
	}
	return sxy / sxx
}
