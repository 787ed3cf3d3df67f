package http

import (
	"encoding/csv"
	"net/http"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/projections"
)

// exportPage is how many clients one query of an export reads.
const exportPage = 1000

// exportClients is GET /api/v1/clients/export: the caller's clients as CSV
// in the import's format, oldest first; staff name another owner with
// ?owner_id=. The status line goes out with the header line, after the
// first page was read; a failure after that aborts the response, so the
// client sees a broken transfer rather than a short file.
func (h *Resources) exportClients(w http.ResponseWriter, r *http.Request) {
	scope, err := listScope(r, access.Client)
	if err != nil {
		respondError(w, r, err)
		return
	}
	if scope.Owner == uuid.Nil {
		scope.Owner = principal(r).UserID
	}
	extendDeadlines(w, r)
	rows, next, err := h.queries.ListClients(r.Context(), scope, "", projections.IDPage{Limit: exportPage})
	if err != nil {
		respondError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename=clients.csv`)
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	n := 0
	err = cw.Write(commands.ClientCSVHeader)
	for err == nil {
		for _, c := range rows {
			if err = cw.Write([]string{c.Email, c.FullName, c.Comment}); err != nil {
				break
			}
		}
		n += len(rows)
		cw.Flush()
		if err == nil {
			err = cw.Error()
		}
		if err != nil || next == uuid.Nil {
			break
		}
		rows, next, err = h.queries.ListClients(r.Context(), scope, "", projections.IDPage{Limit: exportPage, After: next})
	}
	if err != nil {
		zerolog.Ctx(r.Context()).Error().Err(err).Int("rows", n).Msg("client export failed midway")
		panic(http.ErrAbortHandler)
	}
}
