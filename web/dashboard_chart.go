package web

import (
	"fmt"
	"time"

	"github.com/heraldmail/herald/projections"
)

// deliveryChart is the dashboard's bar chart of deliveries per day, drawn
// on the server as inline SVG (no script, nothing for the CSP to refuse):
// per day a bar of the deliveries sent and one of those that failed. The
// template gives it a text alternative and the same figures as a table.
type deliveryChart struct {
	Width, Height int
	Days          []chartDay
	Ticks         []chartTick
	Sent, Failed  int64 // over all the days
}

// chartDay is one day's slot: its figures, its bars and its label.
type chartDay struct {
	projections.DayDeliveries
	Key                string // the date, 2006-01-02, naming the day's elements
	SentBar, FailedBar chartBar
	LabelX             int
}

// chartBar is a bar's rectangle in the chart's coordinates.
type chartBar struct{ X, Y, W, H int }

// chartTick is a line of the value scale.
type chartTick struct {
	Value int64
	Y     int
}

// The chart's geometry, in SVG user units: the scale's labels on the left,
// one slot per day.
const (
	chartLeft   = 44
	chartTop    = 12
	chartPlot   = 150 // the height of the bars' area
	chartSlot   = 52
	chartBarW   = 18
	chartBottom = 28 // below the bars: the days' labels
)

// First is the chart's first day.
func (c deliveryChart) First() time.Time { return c.day(0) }

// Last is the chart's last day (today).
func (c deliveryChart) Last() time.Time { return c.day(len(c.Days) - 1) }

func (c deliveryChart) day(i int) time.Time {
	if i < 0 || i >= len(c.Days) {
		return time.Time{}
	}
	return c.Days[i].Day
}

// Baseline is the y of the bars' foot.
func (c deliveryChart) Baseline() int { return chartTop + chartPlot }

// Right is the x where the plot ends.
func (c deliveryChart) Right() int { return c.Width - 8 }

// newDeliveryChart lays out days (oldest first) on a scale that rounds the
// highest bar up to a round number.
func newDeliveryChart(days []projections.DayDeliveries) deliveryChart {
	c := deliveryChart{Width: chartLeft + len(days)*chartSlot + 8, Height: chartTop + chartPlot + chartBottom}
	var most int64
	for _, d := range days {
		most = max(most, d.Sent, d.Failed)
		c.Sent += d.Sent
		c.Failed += d.Failed
	}
	step, top := scale(most)
	for v := int64(0); v <= top; v += step {
		c.Ticks = append(c.Ticks, chartTick{Value: v, Y: c.Baseline() - int(v*chartPlot/top)})
	}
	bar := func(x int, v int64) chartBar {
		h := int((v*chartPlot + top/2) / top)
		if v > 0 && h < 2 {
			h = 2 // a day with a few deliveries beside one with thousands still shows
		}
		return chartBar{X: x, Y: c.Baseline() - h, W: chartBarW, H: h}
	}
	for i, d := range days {
		x := chartLeft + i*chartSlot
		c.Days = append(c.Days, chartDay{DayDeliveries: d, Key: d.Day.Format(time.DateOnly),
			SentBar: bar(x+(chartSlot/2-chartBarW-1), d.Sent), FailedBar: bar(x+chartSlot/2+1, d.Failed),
			LabelX: x + chartSlot/2})
	}
	return c
}

// scale picks the step of the value lines (1, 2 or 5 times a power of ten,
// at most four steps up to most) and the top of the scale, a multiple of
// it; an empty chart gets a scale of one.
func scale(most int64) (step, top int64) {
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if step = m * p; step*4 >= most {
				return step, max(step, (most+step-1)/step*step)
			}
		}
	}
}

// ShortDay is t's day and month in the caller's time zone and language
// ("2 Dec" / "2 дек."), for the chart's labels.
func (v *View) ShortDay(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(v.tz)
	return fmt.Sprintf("%d %s", t.Day(), v.month(t.Month()))
}
