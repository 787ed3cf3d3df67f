package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/web/form"
)

const (
	// maxImportBody is the largest import form read: a file as large as the
	// API takes (200 MiB) and the form around it.
	maxImportBody = 201 << 20
	// clientFileTimeout is how long an import or export may read and write:
	// the server's deadlines are sized for forms, not a million rows going
	// through the store. Only a signed-in user gets it.
	clientFileTimeout = 30 * time.Minute
	// reportedRejections is how many rejected lines the report lists.
	reportedRejections = 1000
)

// importReport is what the report page shows.
type importReport struct {
	Created, Skipped, RejectedCount int
	Rejected                        []rejectedLine // the first reportedRejections
	// Stopped is the message id of why the import stopped part of the
	// way, "" when it read the whole file.
	Stopped string
}

// Truncated reports whether more lines were rejected than are listed.
func (r importReport) Truncated() bool { return r.RejectedCount > len(r.Rejected) }

// rejectedLine is a rejected line and the message ids of what is wrong.
type rejectedLine struct {
	Line   int
	Errors []string
}

// importClients is POST /clients/import, as POST /api/v1/clients/import:
// the chosen file streamed into the caller's directory, then the report.
// The report is the answer itself, not a redirect: it is too large for a
// flash, and sending the form again only skips what was created.
func (h *Handler) importClients(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > maxImportBody {
		h.renderClientImport(w, r, http.StatusRequestEntityTooLarge, form.Errors{"file": "error.import_too_large"})
		return
	}
	h.extendDeadlines(w)
	r.Body = http.MaxBytesReader(w, r.Body, maxImportBody)
	f, errs, err := form.NewClientImport(r)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		h.renderClientImport(w, r, http.StatusRequestEntityTooLarge, form.Errors{"file": "error.import_too_large"})
		return
	case err != nil:
		h.renderClientImport(w, r, http.StatusBadRequest, form.Errors{"file": "error.import_unreadable"})
		return
	}
	if len(errs) > 0 {
		h.renderClientImport(w, r, http.StatusUnprocessableEntity, errs)
		return
	}
	rep, err := h.importer.Import(r.Context(), meta(r), f.Command(principal(r).UserID))
	if errors.Is(err, commands.ErrImportHeader) {
		h.renderClientImport(w, r, http.StatusUnprocessableEntity, form.Errors{"file": "error.import_header"})
		return
	}
	status, report := http.StatusOK, reportOf(rep)
	if err != nil {
		status, report.Stopped = h.importStopped(r, err)
	}
	if rep.Created > 0 {
		h.settle(r, eventstore.Result{LastPosition: rep.LastPosition})
	}
	v := h.view(w, r)
	v.Data = report
	h.render(w, r, status, "client_import_report", v)
}

// importStopped is the status and message of an import stopped part of
// the way; the server's own failure is logged.
func (h *Handler) importStopped(r *http.Request, err error) (int, string) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "error.import_too_large"
	case errors.Is(err, commands.ErrImportTooManyRows):
		return http.StatusUnprocessableEntity, "error.import_too_many_rows"
	}
	h.log.Error().Err(err).Str("path", r.URL.Path).Msg("client import stopped part of the way")
	return http.StatusInternalServerError, "error.import_failed"
}

// reportOf words the core's report for the page: each rejected field by
// the message the client form shows for it.
func reportOf(rep commands.ImportReport) importReport {
	out := importReport{Created: rep.Created, Skipped: rep.Skipped, RejectedCount: len(rep.Rejected)}
	for _, rj := range rep.Rejected[:min(len(rep.Rejected), reportedRejections)] {
		line := rejectedLine{Line: rj.Line}
		for _, f := range rj.Fields {
			id, ok := invalidField[f.Field]
			if !ok || f.Field == "row" {
				id = "error.import_bad_row"
			}
			line.Errors = append(line.Errors, id)
		}
		out.Rejected = append(out.Rejected, line)
	}
	return out
}

// extendDeadlines gives a file transfer clientFileTimeout to finish.
func (h *Handler) extendDeadlines(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	until := time.Now().Add(clientFileTimeout)
	if err := errors.Join(rc.SetReadDeadline(until), rc.SetWriteDeadline(until)); err != nil {
		h.log.Warn().Err(err).Msg("cannot extend the deadlines of a client file transfer")
	}
}
