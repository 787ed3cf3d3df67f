package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// manageUsers is what /manage/users shows.
type manageUsers struct {
	Nav   manageNav
	Query string
	Users []manageUser
	Next  string // the next page's URL, "" on the last
	// CanToggle shows the Block and Activate buttons, CanSetGroups the
	// managers buttons (access's policy, as the API's).
	CanToggle    bool
	CanSetGroups bool
}

// manageUser is one account of the list.
type manageUser struct {
	projections.UserRow
	Manager bool // in the managers group
}

// listUsers is GET /manage/users, as GET /api/v1/users: every account, ?q=
// keeping those whose email or name contains it, ?after= the cursor. Staff
// without users.view_all are refused, as the API refuses them.
func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if !access.CanListAll(p, access.User) {
		h.showNotAllowed(w, r)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if domain.CheckText(q) != "" || len(q) > 255 {
		q = ""
	}
	after, _ := uuid.Parse(r.URL.Query().Get("after"))
	rows, next, err := h.userRows.SearchUsers(r.Context(), q, projections.IDPage{Limit: managePerPage, After: after})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l := manageUsers{Nav: manageNavOf(p), Query: q, CanToggle: access.CanToggleUser(p), CanSetGroups: access.CanSetGroups(p)}
	for _, u := range rows {
		l.Users = append(l.Users, manageUser{UserRow: u, Manager: slices.Contains(u.Groups, domain.GroupManagers)})
	}
	if next != uuid.Nil {
		v := url.Values{"after": {next.String()}}
		if q != "" {
			v.Set("q", q)
		}
		l.Next = "/manage/users?" + v.Encode()
	}
	v := h.view(w, r)
	v.Data = l
	h.render(w, r, http.StatusOK, "manage_users", v)
}
