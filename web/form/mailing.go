package form

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// LocalTime is the layout of an input type=datetime-local: a wall-clock
// time without a zone, read in the mailing's time zone.
const LocalTime = "2006-01-02T15:04"

// Mailing is the form of /mailings/new and /mailings/{id}/edit. StartAt
// and EndAt are wall-clock times in Timezone. Version is the mailing's
// version the edit page showed (0 on a new mailing). Search is the client
// search typed in the form and After the last client of the listing's
// previous page.
type Mailing struct {
	MessageID   string
	StartAt     string
	EndAt       string
	Periodicity string
	Timezone    string
	Version     int64
	Recipients  Recipients
	// AllClients says the choice is every client, with none unpicked: the
	// mailing is then sent to every client the owner has when each run
	// starts, those added later included.
	AllClients bool
	Search     string
	After      uuid.UUID
}

// Recipients is the choice of clients as a few rules rather than a list of
// ids, so that a choice of thousands fits in the URL of a search: the
// mailing's current clients (Keep, when editing), the clients picked one by
// one (IDs) and every client matching some searches (Matching), less the
// clients unpicked one by one (Except).
type Recipients struct {
	Keep     bool
	IDs      []uuid.UUID
	Matching []string
	Except   []uuid.UUID
}

// maxSearches bounds the searches one choice keeps.
const maxSearches = 20

// NewMailing reads the form from v: the body of a POST, or the query of
// the form's search, which sends every field along so none is lost.
//
// The page lists the matches of one search with a box each (their ids come
// back as "shown"): a listed client whose box is unticked is unpicked, even
// when it matches a search or is a current client. The box "all N
// matching" refers to that listed search ("listed_q"), and "listed_all"
// says the box was shown ticked.
func NewMailing(v url.Values) Mailing {
	version, _ := strconv.ParseInt(v.Get("version"), 10, 64)
	after, _ := uuid.Parse(v.Get("more"))
	f := Mailing{MessageID: strings.TrimSpace(v.Get("message_id")), StartAt: strings.TrimSpace(v.Get("start_at")),
		EndAt: strings.TrimSpace(v.Get("end_at")), Periodicity: strings.TrimSpace(v.Get("periodicity")),
		Timezone: strings.TrimSpace(v.Get("timezone")), Version: version, Search: Search(v.Get("q")), After: after}

	picked := uuids(v["client_id"])
	except := uuids(v["except"])
	// The box "all matching" ticked in this submission, its search not
	// chosen when the page was shown ("listed_all" says it was): the listed
	// boxes were shown unticked, so leaving them so says nothing. Once the
	// search is chosen they are shown ticked, and unticking one leaves that
	// client out.
	newlyAll := false
	if listed, ok := v["listed_q"]; ok && len(listed) > 0 && v.Get("all_matching") == "1" && v.Get("listed_all") != "1" {
		q := Search(listed[0])
		newlyAll = !slices.ContainsFunc(v["all_q"], func(s string) bool { return Search(s) == q })
	}
	for _, id := range uuids(v["shown"]) {
		if !newlyAll && !slices.Contains(picked, id) && !slices.Contains(except, id) {
			except = append(except, id)
		}
	}
	r := Recipients{Keep: v.Get("keep") == "1", IDs: picked,
		Except: slices.DeleteFunc(except, func(id uuid.UUID) bool { return slices.Contains(picked, id) })}
	for _, q := range v["all_q"] {
		if q = Search(q); !slices.Contains(r.Matching, q) {
			r.Matching = append(r.Matching, q)
		}
	}
	if listed, ok := v["listed_q"]; ok && len(listed) > 0 {
		q := Search(listed[0])
		r.Matching = slices.DeleteFunc(r.Matching, func(s string) bool { return s == q })
		if v.Get("all_matching") == "1" {
			r.Matching = append(r.Matching, q)
		}
	}
	if len(r.Matching) > maxSearches {
		r.Matching = r.Matching[len(r.Matching)-maxSearches:]
	}
	f.Recipients = r
	f.AllClients = slices.Contains(r.Matching, "") && len(r.Except) == 0
	return f
}

// Search is q as the client search takes it: trimmed, and empty (every
// client) when it is no text a search may hold.
func Search(q string) string {
	q = strings.TrimSpace(q)
	if domain.CheckText(q) != "" || len(q) > 255 {
		return ""
	}
	return q
}

// uuids parses the ids of a repeated field, skipping what is no id and
// repeats.
func uuids(raw []string) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(raw))
	for _, s := range raw {
		if id, err := uuid.Parse(s); err == nil && id != uuid.Nil && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// MailingOf fills the edit form with a mailing as the read model shows it:
// its times on its own zone's wall clock, its clients kept as they are.
func MailingOf(m projections.MailingRow) Mailing {
	loc, err := domain.LoadTimezone(m.Timezone)
	if err != nil {
		loc = time.UTC
	}
	f := Mailing{MessageID: m.MessageID.String(), StartAt: m.StartAt.In(loc).Format(LocalTime),
		EndAt: m.EndAt.In(loc).Format(LocalTime), Periodicity: m.Periodicity, Timezone: m.Timezone,
		Version: m.Version, Recipients: Recipients{Keep: true}}
	if m.AllClients {
		// Every client: the box "all your clients" is ticked.
		f.Recipients, f.AllClients = Recipients{Matching: []string{""}}, true
	}
	return f
}

// Resolve is the chosen clients, in order and without repeats: current
// are the mailing's clients (taken when Keep), matches the clients matching
// each search of Matching.
func (r Recipients) Resolve(current []uuid.UUID, matches map[string][]uuid.UUID) []uuid.UUID {
	seen := make(map[uuid.UUID]bool, len(r.Except)+len(current)+len(r.IDs))
	for _, id := range r.Except {
		seen[id] = true
	}
	var out []uuid.UUID
	add := func(ids []uuid.UUID) {
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	if r.Keep {
		add(current)
	}
	add(r.IDs)
	for _, q := range r.Matching {
		add(matches[q])
	}
	return out
}

// Validate reports what the browser must fill in: a message, at least one
// client (chosen is how many the choice resolved to), a known time zone and
// both times on its wall clock. Whether the message and clients are the
// owner's, and the end after the start, the core decides.
func (f Mailing) Validate(chosen int) Errors {
	e := Errors{}
	required(e, "message_id", f.MessageID)
	if _, err := uuid.Parse(f.MessageID); f.MessageID != "" && err != nil {
		e.Add("message_id", "error.mailing_unknown_message")
	}
	switch {
	case chosen == 0:
		e.Add("client_ids", "error.mailing_no_clients")
	case chosen > domain.MaxMailingClients && !f.AllClients:
		e.Add("client_ids", "error.mailing_too_many_clients")
	}
	required(e, "periodicity", f.Periodicity)
	loc, err := f.location()
	if err != nil {
		e.Add("timezone", "error.mailing_invalid_timezone")
		return e
	}
	for field, s := range map[string]string{"start_at": f.StartAt, "end_at": f.EndAt} {
		required(e, field, s)
		if _, err := parseLocal(s, loc); s != "" && err != nil {
			e.Add(field, "error.mailing_invalid_time")
		}
	}
	return e
}

func (f Mailing) location() (*time.Location, error) {
	if f.Timezone == "" {
		return time.UTC, nil
	}
	return domain.LoadTimezone(f.Timezone)
}

// parseLocal reads a datetime-local value, with or without seconds, on
// loc's wall clock.
func parseLocal(s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation(LocalTime, s, loc)
	if err != nil {
		t, err = time.ParseInLocation(LocalTime+":05", s, loc)
	}
	return t, err
}

// fields is the setting the form holds, for clients; call it after
// Validate found nothing.
func (f Mailing) fields(clients []uuid.UUID) domain.MailingFields {
	loc, err := f.location()
	if err != nil {
		loc = time.UTC
	}
	start, _ := parseLocal(f.StartAt, loc)
	end, _ := parseLocal(f.EndAt, loc)
	id, _ := uuid.Parse(f.MessageID)
	if f.AllClients {
		clients = nil
	}
	return domain.MailingFields{MessageID: id, ClientIDs: clients, AllClients: f.AllClients, StartAt: start, EndAt: end,
		Periodicity: domain.Periodicity(f.Periodicity), Timezone: f.Timezone}
}

// Create is the command POST /api/v1/mailings sends, to the chosen
// clients (or every client, AllClients); the mailing starts active, as the
// API's does by default.
func (f Mailing) Create(owner uuid.UUID, clients []uuid.UUID) commands.CreateMailing {
	return commands.CreateMailing{Owner: owner, Fields: f.fields(clients)}
}

// Update is the command PUT /api/v1/mailings/{id} sends, pinned to the
// version the page showed, so a change made meanwhile is refused rather
// than overwritten. clients nil keeps the mailing's clients as they are.
func (f Mailing) Update(id uuid.UUID, clients []uuid.UUID, auth commands.Authorizer) commands.UpdateMailing {
	fl := f.fields(clients)
	cmd := commands.UpdateMailing{ID: id, MessageID: &fl.MessageID, StartAt: &fl.StartAt, EndAt: &fl.EndAt,
		Periodicity: &fl.Periodicity, Timezone: &fl.Timezone, Authorize: auth}
	switch {
	case f.AllClients:
		cmd.AllClients = &fl.AllClients
	case clients != nil:
		cmd.ClientIDs = &fl.ClientIDs
	}
	if f.Version > 0 {
		cmd.IfMatch = &f.Version
	}
	return cmd
}
