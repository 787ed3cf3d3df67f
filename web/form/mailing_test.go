package form

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
)

// The choice of clients: boxes listed and unticked are unpicked even when a
// search or the current clients hold them; "all matching" refers to the
// listed search, not to what was typed since.
func TestMailingRecipients(t *testing.T) {
	c := make([]uuid.UUID, 6)
	for i := range c {
		c[i] = uuid.New()
	}
	v := url.Values{
		"keep":         {"1"},
		"client_id":    {c[0].String(), c[2].String(), "junk"},
		"except":       {c[3].String(), c[2].String()},
		"shown":        {c[1].String(), c[2].String()},
		"all_q":        {" ann ", "bob"},
		"listed_q":     {"bob"},
		"all_matching": {"1"},
		"q":            {"cleo"},
	}
	f := NewMailing(v)
	r := f.Recipients
	if !r.Keep || !slices.Equal(r.IDs, []uuid.UUID{c[0], c[2]}) || !slices.Equal(r.Except, []uuid.UUID{c[3], c[1]}) ||
		!slices.Equal(r.Matching, []string{"ann", "bob"}) || f.Search != "cleo" {
		t.Fatalf("read %+v, search %q", r, f.Search)
	}
	got := r.Resolve([]uuid.UUID{c[1], c[4]}, map[string][]uuid.UUID{"ann": {c[3], c[5]}, "bob": {c[0]}})
	if want := []uuid.UUID{c[4], c[0], c[2], c[5]}; !slices.Equal(got, want) {
		t.Fatalf("resolved %v, want %v", got, want)
	}

	// Unticking "all matching" drops the listed search only.
	v.Del("all_matching")
	if r := NewMailing(v).Recipients; !slices.Equal(r.Matching, []string{"ann"}) {
		t.Fatalf("matching without the box: %v", r.Matching)
	}
	if got := (Recipients{}).Resolve([]uuid.UUID{c[0]}, nil); len(got) != 0 {
		t.Fatalf("a new mailing's empty choice resolved to %v", got)
	}

	// "All your clients" ticked on a page that listed them unticked: all
	// of them, none left out.
	first := url.Values{"shown": {c[0].String(), c[1].String()}, "listed_q": {""}, "all_matching": {"1"}, "q": {""}}
	r = NewMailing(first).Recipients
	if len(r.Except) != 0 || !slices.Equal(r.Matching, []string{""}) {
		t.Fatalf("all clients, newly ticked: %+v", r)
	}
	if got := r.Resolve(nil, map[string][]uuid.UUID{"": {c[0], c[1]}}); !slices.Equal(got, []uuid.UUID{c[0], c[1]}) {
		t.Fatalf("all clients resolved to %v", got)
	}
	// The next page shows them ticked, the box "all" carrying the search;
	// unticking one leaves it out.
	next := url.Values{"shown": {c[0].String(), c[1].String()}, "client_id": {c[0].String()},
		"listed_q": {""}, "listed_all": {"1"}, "all_matching": {"1"}}
	if r := NewMailing(next).Recipients; !slices.Equal(r.Except, []uuid.UUID{c[1]}) || !slices.Equal(r.Matching, []string{""}) {
		t.Fatalf("all clients but one: %+v", r)
	}
}

func TestMailingCommands(t *testing.T) {
	msg, owner, id := uuid.New(), uuid.New(), uuid.New()
	f := NewMailing(url.Values{"message_id": {msg.String()}, "start_at": {"2030-01-01T09:00"}, "end_at": {"2030-02-01T09:00:30"},
		"periodicity": {"daily"}, "timezone": {"Europe/Moscow"}, "version": {"4"}})
	if e := f.Validate(1); len(e) != 0 {
		t.Fatalf("valid form refused: %v", e)
	}
	clients := []uuid.UUID{uuid.New()}
	c := f.Create(owner, clients)
	if c.Owner != owner || c.Fields.MessageID != msg || !c.Fields.StartAt.Equal(time.Date(2030, 1, 1, 6, 0, 0, 0, time.UTC)) ||
		!c.Fields.EndAt.Equal(time.Date(2030, 2, 1, 6, 0, 30, 0, time.UTC)) || c.Fields.Periodicity != domain.Daily ||
		c.Fields.Timezone != "Europe/Moscow" || !slices.Equal(c.Fields.ClientIDs, clients) || c.IsActive != nil {
		t.Fatalf("create %+v", c)
	}
	u := f.Update(id, nil, nil)
	if u.ID != id || u.ClientIDs != nil || u.IfMatch == nil || *u.IfMatch != 4 || *u.MessageID != msg || *u.Periodicity != domain.Daily {
		t.Fatalf("update %+v", u)
	}
	if u := f.Update(id, clients, nil); u.ClientIDs == nil || !slices.Equal(*u.ClientIDs, clients) {
		t.Fatalf("update with clients %+v", u)
	}

	bad := NewMailing(url.Values{"message_id": {"nope"}, "start_at": {"soon"}, "timezone": {"UTC"}, "periodicity": {"once"}})
	e := bad.Validate(0)
	for field, want := range map[string]string{"message_id": "error.mailing_unknown_message", "client_ids": "error.mailing_no_clients",
		"start_at": "error.mailing_invalid_time", "end_at": "error.required"} {
		if e[field] != want {
			t.Errorf("%s: %q, want %q (all: %v)", field, e[field], want, e)
		}
	}
	if e := NewMailing(url.Values{"timezone": {"Mars/Olympus"}}).Validate(1); e["timezone"] != "error.mailing_invalid_timezone" {
		t.Errorf("unknown zone: %v", e)
	}
	if e := f.Validate(domain.MaxMailingClients + 1); e["client_ids"] != "error.mailing_too_many_clients" {
		t.Errorf("too many clients: %v", e)
	}
}
