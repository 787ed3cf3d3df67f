package http

import (
	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// messageBody is the JSON of POST, PUT and PATCH /api/v1/messages.
type messageBody struct {
	Subject  *string `json:"subject"`
	Body     *string `json:"body"`
	BodyHTML *string `json:"body_html"`
}

func messageRow(o commands.Outcome[*domain.Message]) projections.MessageRow {
	m := o.State
	return projections.MessageRow{ID: m.ID(), OwnerID: m.Owner(), Subject: m.Subject(), Body: m.Body(), BodyHTML: m.BodyHTML(),
		Version: o.Version, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}
