package http

import (
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// mailingBody is the JSON of POST, PUT and PATCH /api/v1/mailings. Ids and
// times are read as strings so a bad one is a 422 naming its field, like
// every other rule a mailing breaks.
type mailingBody struct {
	MessageID   *string   `json:"message_id"`
	ClientIDs   *[]string `json:"client_ids"`
	AllClients  *bool     `json:"all_clients"`
	StartAt     *string   `json:"start_at"`
	EndAt       *string   `json:"end_at"`
	Periodicity *string   `json:"periodicity"`
	Timezone    *string   `json:"timezone"`
	IsActive    *bool     `json:"is_active"`
}

// mailingChange is a body parsed: nil fields were not sent.
type mailingChange struct {
	messageID   *uuid.UUID
	clientIDs   *[]uuid.UUID
	allClients  *bool
	startAt     *time.Time
	endAt       *time.Time
	periodicity *domain.Periodicity
	timezone    *string
}

// parse checks the shapes of the fields sent; complete (POST, PUT) makes
// absent fields empty so the domain names them as required.
func (b mailingBody) parse(complete bool) (mailingChange, error) {
	var c mailingChange
	var v domain.ValidationError
	bad := func(field, msg string) { v.Fields = append(v.Fields, domain.FieldError{Field: field, Message: msg}) }
	if b.MessageID != nil {
		id, err := uuid.Parse(*b.MessageID)
		if err != nil {
			bad("message_id", "must be a UUID")
		}
		c.messageID = &id
	} else if complete {
		c.messageID = &uuid.UUID{}
	}
	if b.ClientIDs != nil {
		ids := make([]uuid.UUID, 0, len(*b.ClientIDs))
		for i, s := range *b.ClientIDs {
			id, err := uuid.Parse(s)
			if err != nil {
				bad("client_ids", "item "+strconv.Itoa(i)+" must be a UUID")
				break
			}
			ids = append(ids, id)
		}
		c.clientIDs = &ids
	} else if complete {
		c.clientIDs = &[]uuid.UUID{}
	}
	c.allClients = b.AllClients
	if c.allClients == nil && complete {
		c.allClients = new(bool)
	}
	parseTime := func(field string, s *string) *time.Time {
		if s == nil {
			if complete {
				return &time.Time{}
			}
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, *s)
		if err != nil {
			bad(field, "must be an RFC 3339 time with offset, such as 2026-11-25T09:00:00Z")
		}
		return &t
	}
	c.startAt, c.endAt = parseTime("start_at", b.StartAt), parseTime("end_at", b.EndAt)
	if b.Periodicity != nil {
		p := domain.Periodicity(*b.Periodicity)
		c.periodicity = &p
	} else if complete {
		c.periodicity = new(domain.Periodicity)
	}
	c.timezone = b.Timezone
	if c.timezone == nil && complete {
		c.timezone = new(string)
	}
	if len(v.Fields) > 0 {
		return c, &v
	}
	return c, nil
}

// mailingRow is the answer of a mailing command: the mailing as the
// command left it, in the read model's shape. Its next run follows from
// that state (domain.NextRun), as the read model will show it.
func mailingRow(o commands.Outcome[*domain.Mailing]) projections.MailingRow {
	m := o.State
	row := projections.MailingRow{ID: m.ID(), OwnerID: m.Owner(), MessageID: m.MessageID(), ClientIDs: m.ClientIDs(),
		AllClients: m.AllClients(), StartAt: m.StartAt(), EndAt: m.EndAt(), Periodicity: string(m.Periodicity()), Timezone: m.Timezone(),
		Status: string(m.Status()), IsActive: m.IsActive(), Version: o.Version, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	if t := m.LastRunAt(); !t.IsZero() {
		row.LastRunAt = &t
	}
	if t, ok := m.NextRun(o.UpdatedAt); ok {
		t = t.UTC()
		row.NextRunAt = &t
	}
	return row
}
