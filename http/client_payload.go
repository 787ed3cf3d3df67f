package http

import (
	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// clientBody is the JSON of POST, PUT and PATCH /api/v1/clients.
type clientBody struct {
	Email    *string `json:"email"`
	FullName *string `json:"full_name"`
	Comment  *string `json:"comment"`
}

func clientRow(o commands.Outcome[*domain.Client]) projections.ClientRow {
	c := o.State
	r := projections.ClientRow{ID: c.ID(), OwnerID: c.Owner(), Email: c.Email(), FullName: c.FullName(),
		Comment: c.Comment(), Version: o.Version, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		SuppressionReason: c.SuppressionReason()}
	if at := c.UnsubscribedAt(); !at.IsZero() {
		r.UnsubscribedAt = &at
	}
	if at := c.SuppressedAt(); c.IsSuppressed() {
		r.SuppressedAt = &at
	}
	return r
}
