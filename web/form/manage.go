package form

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
)

// StaffAction is the form of a button on a managers' list (block, activate,
// enable, disable): the version of the row the page showed, so a change
// made meanwhile is refused rather than undone, and the list page to go
// back to.
type StaffAction struct {
	Version int64
	Back    string
}

// NewStaffAction reads the form of r.
func NewStaffAction(r *http.Request) StaffAction {
	v, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	return StaffAction{Version: v, Back: r.PostFormValue("back")}
}

// IfMatch is the version the page showed, or commands.NoIfMatch when the
// form sent none: the ifMatch of the identity service's account commands.
func (f StaffAction) IfMatch() int64 {
	if f.Version > 0 {
		return f.Version
	}
	return commands.NoIfMatch
}

// ToggleMailing is the command POST /api/v1/mailings/{id}/enable (or
// /disable) sends, pinned to the version the page showed.
func (f StaffAction) ToggleMailing(id uuid.UUID, enable bool, auth commands.Authorizer) commands.ToggleMailing {
	cmd := commands.ToggleMailing{ID: id, Enable: enable, Authorize: auth}
	if f.Version > 0 {
		cmd.IfMatch = &f.Version
	}
	return cmd
}

// UserGroups is the form of the buttons that add an account to a group or
// take it out of one (the managers, on /manage/users).
type UserGroups struct {
	StaffAction
	Add    string
	Remove string
}

// NewUserGroups reads the form of r.
func NewUserGroups(r *http.Request) UserGroups {
	return UserGroups{StaffAction: NewStaffAction(r), Add: strings.TrimSpace(r.PostFormValue("add")),
		Remove: strings.TrimSpace(r.PostFormValue("remove"))}
}

// Groups is the whole list PUT /api/v1/users/{id}/groups takes: current
// with Add added and Remove taken out.
func (f UserGroups) Groups(current []string) []string {
	out := make([]string, 0, len(current)+1)
	for _, g := range current {
		if g != f.Remove {
			out = append(out, g)
		}
	}
	if f.Add != "" && !slices.Contains(out, f.Add) {
		out = append(out, f.Add)
	}
	return out
}
