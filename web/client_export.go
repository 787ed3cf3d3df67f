package web

import (
	"io"
	"net/http"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/projections"
)

// exportClients is GET /clients/export.csv, as GET /api/v1/clients/export:
// the caller's clients in the import's format, oldest first, streamed a
// page of the read model at a time. A failure after the first page aborts
// the response, so the browser shows a failed download, not a short file.
func (h *Handler) exportClients(w http.ResponseWriter, r *http.Request) {
	h.extendDeadlines(w)
	n, started, err := projections.WriteClientsCSV(r.Context(), h.clientRows, ownClients(r), commands.ClientCSVHeader, func() io.Writer {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename=clients.csv`)
		w.WriteHeader(http.StatusOK)
		return w
	})
	switch {
	case err != nil && !started:
		h.fail(w, r, err)
	case err != nil:
		h.log.Error().Err(err).Int("rows", n).Msg("client export failed midway")
		panic(http.ErrAbortHandler)
	}
}
