package web

import (
	"context"
	"net/http"
	"slices"
	"sync"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/identity"
	"github.com/heraldmail/herald/projections"
	"github.com/heraldmail/herald/web/form"
)

// The mailing form chooses its clients by search: the page lists the
// matches of one search with a box each, and a box "all N matching" picks
// every match at once, resolved here by paging through the clients, so a
// mailing to ten thousand clients takes no ten thousand clicks. The choice
// travels as a few rules (form.Recipients), never as the full list, so the
// search can be a GET that keeps everything typed.

const (
	// picksPerPage is how many matches of a search the form lists at once.
	picksPerPage = 50
	// clientBatch is the page size of resolving a search's matches.
	clientBatch = 1000
)

// mailingTarget is whose mailing the form makes or changes: its id (Nil
// for a new one), its owner, and its current clients.
type mailingTarget struct {
	ID      uuid.UUID
	Owner   uuid.UUID
	Current []uuid.UUID
}

// mailingFormData is what the form shows besides the fields.
type mailingFormData struct {
	mailingTarget
	Messages      []projections.MessageRow
	Periodicities []string
	Zones         []string
	Picker        clientPicker
}

// Editing reports whether the form changes an existing mailing.
func (d mailingFormData) Editing() bool { return d.ID != uuid.Nil }

// Self is the form page's own URL, where its search is sent.
func (d mailingFormData) Self() string {
	if d.Editing() {
		return "/mailings/" + d.ID.String() + "/edit"
	}
	return "/mailings/new"
}

// Action is where the form is posted.
func (d mailingFormData) Action() string {
	if d.Editing() {
		return "/mailings/" + d.ID.String()
	}
	return "/mailings"
}

// PeriodicityKey is the message of a periodicity.
func (d mailingFormData) PeriodicityKey(p string) string { return periodicityKey[p] }

var periodicityKey = map[string]string{
	string(domain.Once):    "page.mailing_form.once",
	string(domain.Daily):   "page.mailing_form.daily",
	string(domain.Weekly):  "page.mailing_form.weekly",
	string(domain.Monthly): "page.mailing_form.monthly",
}

// clientPicker is the clients part of the form: the listed matches of the
// search and the choice's rules that are not on the page as boxes.
type clientPicker struct {
	Query   string
	Listed  []pick
	More    uuid.UUID // the cursor of the listing's next page
	Matches int       // how many clients match Query
	// AllPicked says Query is one of the choice's searches.
	AllPicked bool
	Chosen    int64 // how many clients the choice resolves to
	// The rules carried as hidden fields: the listed clients and search
	// are carried by their boxes instead.
	Keep     bool
	IDs      []uuid.UUID
	Except   []uuid.UUID
	Matching []string
}

// HasMore reports whether the search has more matches than listed.
func (k clientPicker) HasMore() bool { return k.More != uuid.Nil }

// pick is one listed client and whether the choice holds it.
type pick struct {
	projections.ClientRow
	Picked bool
}

// ownerClients is the read scope of the clients a mailing of owner may
// send to: owner's, as far as the caller may read them.
func ownerClients(p identity.Principal, owner uuid.UUID) projections.OwnerScope {
	s := access.ReadScope(p, access.Client)
	s.Owner = owner
	return s
}

// clientsMatching is every client in s matching q, up to one more than a
// mailing may list (which the form then refuses).
func (h *Handler) clientsMatching(ctx context.Context, s projections.OwnerScope, q string) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	after := uuid.Nil
	for {
		rows, next, err := h.clientRows.ListClients(ctx, s, q, projections.IDPage{Limit: clientBatch, After: after})
		if err != nil {
			return nil, err
		}
		for _, c := range rows {
			ids = append(ids, c.ID)
		}
		if next == uuid.Nil || len(ids) > domain.MaxMailingClients {
			return ids, nil
		}
		after = next
	}
}

// resolveRecipients is the clients rec chooses among owner's.
func (h *Handler) resolveRecipients(ctx context.Context, p identity.Principal, t mailingTarget, rec form.Recipients) ([]uuid.UUID, error) {
	matches := map[string][]uuid.UUID{}
	for _, q := range rec.Matching {
		ids, err := h.clientsMatching(ctx, ownerClients(p, t.Owner), q)
		if err != nil {
			return nil, err
		}
		matches[q] = ids
	}
	return rec.Resolve(t.Current, matches), nil
}

// picker lists the matches of f's search, marking those chosen holds.
func (h *Handler) picker(ctx context.Context, p identity.Principal, t mailingTarget, f form.Mailing, chosen []uuid.UUID) (clientPicker, error) {
	s := ownerClients(p, t.Owner)
	rows, next, err := h.clientRows.ListClients(ctx, s, f.Search, projections.IDPage{Limit: picksPerPage, After: f.After})
	if err != nil {
		return clientPicker{}, err
	}
	all, err := h.clientsMatching(ctx, s, f.Search)
	if err != nil {
		return clientPicker{}, err
	}
	in := make(map[uuid.UUID]bool, len(chosen))
	for _, id := range chosen {
		in[id] = true
	}
	rec := f.Recipients
	k := clientPicker{Query: f.Search, More: next, Matches: len(all), Chosen: int64(len(chosen)), Keep: rec.Keep,
		AllPicked: slices.Contains(rec.Matching, f.Search)}
	listed := map[uuid.UUID]bool{}
	for _, c := range rows {
		k.Listed = append(k.Listed, pick{ClientRow: c, Picked: in[c.ID]})
		listed[c.ID] = true
	}
	isListed := func(id uuid.UUID) bool { return listed[id] }
	k.IDs = slices.DeleteFunc(slices.Clone(rec.IDs), isListed)
	k.Except = slices.DeleteFunc(slices.Clone(rec.Except), isListed)
	for _, q := range rec.Matching {
		// With matches, the box "all N matching" carries the search.
		if q != f.Search || k.Matches == 0 {
			k.Matching = append(k.Matching, q)
		}
	}
	return k, nil
}

// ownerMessages is every message of owner the caller may read: the
// messages a mailing of owner may send.
func (h *Handler) ownerMessages(ctx context.Context, p identity.Principal, owner uuid.UUID) ([]projections.MessageRow, error) {
	s := access.ReadScope(p, access.Message)
	s.Owner = owner
	var all []projections.MessageRow
	after := uuid.Nil
	for {
		rows, next, err := h.mailingRows.ListMessages(ctx, s, projections.IDPage{Limit: 500, After: after})
		if err != nil {
			return nil, err
		}
		all = append(all, rows...)
		if next == uuid.Nil {
			return all, nil
		}
		after = next
	}
}

// renderMailingForm shows the mailing form with f, its errors and chosen,
// the clients its choice resolves to.
func (h *Handler) renderMailingForm(w http.ResponseWriter, r *http.Request, status int, f form.Mailing, errs form.Errors,
	t mailingTarget, chosen []uuid.UUID) {
	p := principal(r)
	k, err := h.picker(r.Context(), p, t, f, chosen)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	msgs, err := h.ownerMessages(r.Context(), p, t.Owner)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	zones := slices.Clone(timeZones())
	if f.Timezone != "" && !slices.Contains(zones, f.Timezone) {
		zones = append([]string{f.Timezone}, zones...)
	}
	v := h.view(w, r)
	v.Form, v.Errors = f, errs
	v.Data = mailingFormData{mailingTarget: t, Messages: msgs, Zones: zones, Picker: k,
		Periodicities: []string{string(domain.Once), string(domain.Daily), string(domain.Weekly), string(domain.Monthly)}}
	h.render(w, r, status, "mailing_form", v)
}

// zoneNames are the time zones the form offers: UTC and the zones of the
// world's larger cities and of every Russian region's offset.
var zoneNames = []string{
	"UTC",
	"Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Madrid",
	"Europe/Rome", "Europe/Amsterdam", "Europe/Stockholm", "Europe/Warsaw", "Europe/Prague", "Europe/Vienna",
	"Europe/Athens", "Europe/Helsinki", "Europe/Kyiv", "Europe/Minsk", "Europe/Istanbul",
	"Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk",
	"Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok",
	"Asia/Magadan", "Asia/Kamchatka",
	"Asia/Tbilisi", "Asia/Yerevan", "Asia/Baku", "Asia/Almaty", "Asia/Tashkent", "Asia/Dubai",
	"Asia/Karachi", "Asia/Kolkata", "Asia/Dhaka", "Asia/Bangkok", "Asia/Jakarta", "Asia/Shanghai",
	"Asia/Hong_Kong", "Asia/Singapore", "Asia/Tokyo", "Asia/Seoul",
	"Australia/Perth", "Australia/Adelaide", "Australia/Sydney", "Pacific/Auckland",
	"Africa/Cairo", "Africa/Lagos", "Africa/Nairobi", "Africa/Johannesburg",
	"America/Sao_Paulo", "America/Argentina/Buenos_Aires", "America/Bogota", "America/Mexico_City",
	"America/New_York", "America/Toronto", "America/Chicago", "America/Denver", "America/Phoenix",
	"America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu",
}

// timeZones is zoneNames less any the system's time zone database lacks.
var timeZones = sync.OnceValue(func() []string {
	return slices.DeleteFunc(slices.Clone(zoneNames), func(name string) bool {
		_, err := domain.LoadTimezone(name)
		return err != nil
	})
})
