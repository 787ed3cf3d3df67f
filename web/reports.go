package web

import (
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/projections"
)

// The report pages show what GET /api/v1/reports/mailings and
// /api/v1/reports/summary answer, in the same scope: the caller's mailings,
// or everyone's for staff allowed reports.view_all, who may narrow them to
// one owner with ?owner_id= as the API's callers do.

// reportsPerPage is the length of one page of the report table.
const reportsPerPage = 25

// reportScope is what the caller may read of the report (access's policy),
// narrowed by ?owner_id=; a caller who is not staff naming someone else
// sees nothing, as in the API. An owner_id that is no UUID is ignored.
func reportScope(r *http.Request) projections.OwnerScope {
	s := access.ReadScope(principal(r), access.Report)
	if id, err := uuid.Parse(r.URL.Query().Get("owner_id")); err == nil {
		s.Owner = id
	}
	return s
}

// reportURL is path with the scope's owner and, unless Nil, the cursor.
func reportURL(path string, s projections.OwnerScope, after uuid.UUID) string {
	q := url.Values{}
	if s.Owner != uuid.Nil {
		q.Set("owner_id", s.Owner.String())
	}
	if after != uuid.Nil {
		q.Set("after", after.String())
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// reportStatus is the message of each mailing status the report shows.
var reportStatus = map[string]string{
	"created":   "page.reports.status_created",
	"started":   "page.reports.status_started",
	"completed": "page.reports.status_completed",
}
