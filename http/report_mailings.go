package http

import (
	"mime"
	"net/http"
	"strings"

	"github.com/heraldmail/herald/access"

	"github.com/heraldmail/herald/domain"
)

// wantsCSV: ?format=csv, or an Accept header naming text/csv (?format=json
// wins over Accept).
func wantsCSV(r *http.Request) (bool, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, domain.Invalid("format", "must be json or csv")
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, params, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" && params["q"] != "0" {
			return true, nil
		}
	}
	return false, nil
}

// mailingReports is one page of the report of each mailing in scope (the
// caller's, or everyone's for staff allowed reports.view_all), or the whole
// report as CSV.
func (h *Reports) mailingReports(w http.ResponseWriter, r *http.Request) {
	asCSV, err := wantsCSV(r)
	if err != nil {
		respondError(w, r, err)
		return
	}
	if !asCSV {
		listOwned(w, r, access.Report, h.q.ListMailingReports)
		return
	}
	scope, err := listScope(r, access.Report)
	if err != nil {
		respondError(w, r, err)
		return
	}
	h.exportCSV(w, r, scope)
}
