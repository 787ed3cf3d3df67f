package http

import (
	"io"
	"net/http"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/projections"
)

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
	n, started, err := projections.WriteClientsCSV(r.Context(), h.queries, scope, commands.ClientCSVHeader, func() io.Writer {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename=clients.csv`)
		w.WriteHeader(http.StatusOK)
		return w
	})
	switch {
	case err != nil && !started:
		respondError(w, r, err)
	case err != nil:
		zerolog.Ctx(r.Context()).Error().Err(err).Int("rows", n).Msg("client export failed midway")
		panic(http.ErrAbortHandler)
	}
}
