package form

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// Client is the form of /clients/new and /clients/{id}/edit. Version is
// the client's version the edit page showed (0 on a new client).
type Client struct {
	Email    string
	FullName string
	Comment  string
	Version  int64
}

// NewClient reads the form of r.
func NewClient(r *http.Request) Client {
	v, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	return Client{Email: strings.TrimSpace(r.PostFormValue("email")), FullName: strings.TrimSpace(r.PostFormValue("full_name")),
		Comment: r.PostFormValue("comment"), Version: v}
}

// ClientOf fills the edit form with a client as the read model shows it.
func ClientOf(c projections.ClientRow) Client {
	return Client{Email: c.Email, FullName: c.FullName, Comment: c.Comment, Version: c.Version}
}

// Validate reports the empty required fields.
func (f Client) Validate() Errors {
	e := Errors{}
	required(e, "email", f.Email)
	required(e, "full_name", f.FullName)
	return e
}

// Create is the command POST /api/v1/clients sends.
func (f Client) Create(owner uuid.UUID) commands.CreateClient {
	return commands.CreateClient{Owner: owner, Fields: domain.ClientFields{Email: f.Email, FullName: f.FullName, Comment: f.Comment}}
}

// Update is the command PUT /api/v1/clients/{id} sends, pinned to the
// version the page showed, so a change made meanwhile is refused rather
// than overwritten.
func (f Client) Update(id uuid.UUID, auth commands.Authorizer) commands.UpdateClient {
	cmd := commands.UpdateClient{ID: id, Email: &f.Email, FullName: &f.FullName, Comment: &f.Comment, Authorize: auth}
	if f.Version > 0 {
		cmd.IfMatch = &f.Version
	}
	return cmd
}
