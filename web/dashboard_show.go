package web

import (
	"net/http"

	"github.com/heraldmail/herald/projections"
)

// chartDays is how many days the dashboard's chart shows, today the last;
// weekDays of them are "this week".
const (
	chartDays = 14
	weekDays  = 7
)

// dashboard is what the start page shows: the caller's own figures, never
// anyone else's, whatever their permissions.
type dashboard struct {
	Name           string
	Clients        int64
	ActiveMailings int64
	// SentWeek and FailedWeek count the deliveries of the last seven days
	// of the caller's calendar, today included.
	SentWeek, FailedWeek int64
	Chart                deliveryChart
}

// showDashboard is GET /dashboard, the signed-in visitor's start page.
func (h *Handler) showDashboard(w http.ResponseWriter, r *http.Request) {
	ctx, me := r.Context(), principal(r)
	a, err := h.id.Account(ctx, me.UserID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	own := projections.OwnerScope{Caller: me.UserID}
	sum, err := h.reports.Summary(ctx, own)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	active, err := h.reports.ActiveMailings(ctx, own)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.view(w, r)
	days, err := h.reports.DeliveriesPerDay(ctx, own, h.now(), v.tz, chartDays)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := dashboard{Name: a.Name, Clients: sum.ClientsTotal, ActiveMailings: active, Chart: newDeliveryChart(days)}
	for _, day := range days[max(len(days)-weekDays, 0):] {
		d.SentWeek += day.Sent
		d.FailedWeek += day.Failed
	}
	v.Data = d
	h.render(w, r, http.StatusOK, "dashboard", v)
}
