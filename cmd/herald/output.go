package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/projections"
)

// isTerminal reports whether w is a terminal (a person reads it).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// writeJSON writes v as one indented JSON document: the --json output of a
// command that reports one result.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSONLine writes v as one JSON object on one line: the --json output
// of a command that reports one object per item (JSON Lines).
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// pendingMigrations refuses work on a database whose schema is behind the
// binary.
type pendingMigrations int

func (n pendingMigrations) Error() string {
	return fmt.Sprintf("%d database migrations are pending; run `herald migrate up` first", int(n))
}

// isNotFound reports an error for exitNotFound: a named mailing or run
// does not exist.
func isNotFound(err error) bool { return errors.Is(err, domain.ErrNotFound) }

// isRefused reports an error for exitRefused: the command was understood
// but the present state or a rule refuses it (a disabled or completed
// mailing, an email taken by an ordinary account, a password too short,
// another rebuild running, migrations pending, a key file already there).
func isRefused(err error) bool {
	var pending pendingMigrations
	return errors.Is(err, domain.ErrConflict) || errors.Is(err, domain.ErrForbidden) ||
		errors.Is(err, domain.ErrInvalid) || errors.Is(err, projections.ErrRebuildRunning) ||
		errors.As(err, &pending) || errors.Is(err, errKeyFileExists)
}
