package http

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

const (
	// maxImportBytes is the largest CSV body an import reads: the JSON cap
	// (maxBodyBytes) does not apply to a file of up to a million rows.
	maxImportBytes = 200 << 20
	// clientFileTimeout is how long an import or export may read and write:
	// the server's deadlines are sized for JSON bodies, not for a million
	// rows going through the store. It is granted only to a signed-in caller.
	clientFileTimeout = 30 * time.Minute
)

// importAnswer is the body of POST /api/v1/clients/import.
type importAnswer struct {
	Created  int               `json:"created"`
	Skipped  int               `json:"skipped"`
	Rejected []importRejection `json:"rejected"`
}

type importRejection struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// importClients is POST /api/v1/clients/import: a CSV file (text/csv,
// ClientCSVHeader first) streamed into the caller's directory.
func (h *Resources) importClients(w http.ResponseWriter, r *http.Request) {
	if err := csvBody(r); err != nil {
		respondError(w, r, err)
		return
	}
	extendDeadlines(w, r)
	body := http.MaxBytesReader(w, r.Body, maxImportBytes)
	rep, err := h.importer.Import(r.Context(), commandMeta(r), commands.ImportClients{Owner: principal(r).UserID, CSV: body})
	if err != nil {
		respondError(w, r, importProblem(err, rep))
		return
	}
	ans := importAnswer{Created: rep.Created, Skipped: rep.Skipped, Rejected: make([]importRejection, len(rep.Rejected))}
	for i, rj := range rep.Rejected {
		ans.Rejected[i] = importRejection{Line: rj.Line, Error: rj.Error}
	}
	respondCommand(w, r, http.StatusOK, eventstore.Result{LastPosition: rep.LastPosition}, ans)
}

// csvBody refuses a body that is not UTF-8 CSV or is over the import's cap.
func csvBody(r *http.Request) error {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "text/csv" {
		return problem(CodeUnsupportedMedia, fmt.Sprintf("Content-Type must be text/csv, got %q", r.Header.Get("Content-Type")))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return problem(CodeUnsupportedMedia, "the CSV must be UTF-8, got charset "+cs)
	}
	if r.ContentLength > maxImportBytes {
		return problem(CodePayloadTooLarge, fmt.Sprintf("the CSV file must be at most %d bytes", maxImportBytes))
	}
	return nil
}

// extendDeadlines gives a file transfer clientFileTimeout to finish.
func extendDeadlines(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	until := time.Now().Add(clientFileTimeout)
	if err := errors.Join(rc.SetReadDeadline(until), rc.SetWriteDeadline(until)); err != nil {
		zerolog.Ctx(r.Context()).Warn().Err(err).Msg("cannot extend the deadlines of a client file transfer")
	}
}

// importProblem is the answer to an import that failed. One that stopped
// part of the way says what it did before: those clients exist, and the
// same file sent again skips them.
func importProblem(err error, rep commands.ImportReport) error {
	if rep.Created == 0 && rep.Skipped == 0 && len(rep.Rejected) == 0 {
		return err
	}
	done := fmt.Sprintf("before it stopped, the import created %d clients, skipped %d rows and rejected %d; "+
		"sending the same file again skips the clients created", rep.Created, rep.Skipped, len(rep.Rejected))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return problem(CodePayloadTooLarge, fmt.Sprintf("the CSV file is larger than %d bytes; %s", mbe.Limit, done))
	case errors.Is(err, domain.ErrInvalid):
		return problem(CodeValidationFailed, err.Error()+"; "+done)
	}
	return &ProblemError{Code: CodeInternal, Detail: "the server failed part of the way through the import; " + done +
		"; quote the request_id when reporting it", Err: err}
}
