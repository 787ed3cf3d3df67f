package web

import (
	"encoding/csv"
	"net/http"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/projections"
)

// exportPage is how many clients one query of an export reads.
const exportPage = 1000

// exportClients is GET /clients/export.csv, as GET /api/v1/clients/export:
// the caller's clients in the import's format, oldest first, streamed a
// page of the read model at a time. A failure after the first page aborts
// the response, so the browser shows a failed download, not a short file.
func (h *Handler) exportClients(w http.ResponseWriter, r *http.Request) {
	h.extendDeadlines(w)
	rows, next, err := h.clientRows.ListClients(r.Context(), ownClients(r), "", projections.IDPage{Limit: exportPage})
	if err != nil {
		h.fail(w, r, err)
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
		rows, next, err = h.clientRows.ListClients(r.Context(), ownClients(r), "", projections.IDPage{Limit: exportPage, After: next})
	}
	if err != nil {
		h.log.Error().Err(err).Int("rows", n).Msg("client export failed midway")
		panic(http.ErrAbortHandler)
	}
}
