package commands

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

// ClientCSVHeader is the first line of a clients CSV file, the one an
// import expects and an export writes.
var ClientCSVHeader = []string{"email", "full_name", "comment"}

const (
	// MaxImportRows is the most rows after the header one import reads.
	MaxImportRows = 1_000_000
	// importBatch is how many clients one commit creates: few commits for
	// a large file, while each commit stays a short transaction (a long one
	// would hold back every reader of the store).
	importBatch = 5000
)

var (
	// ErrImportHeader refuses a file whose first line is not ClientCSVHeader.
	ErrImportHeader = fmt.Errorf("%w: the first line must be the header email,full_name,comment", domain.ErrInvalid)
	// ErrImportTooManyRows stops an import after MaxImportRows rows.
	ErrImportTooManyRows = fmt.Errorf("%w: a file may hold at most %d rows after the header", domain.ErrInvalid, MaxImportRows)
)

// ImportClients adds the clients of a CSV file to Owner's directory. The
// file is UTF-8 (a leading byte-order mark is ignored), its first line is
// ClientCSVHeader, and each further row is one client.
type ImportClients struct {
	Owner uuid.UUID
	CSV   io.Reader
}

// ImportRejection is a row the import refused and why. Line counts the
// file's lines, the header being line 1; a row whose quoted field spans
// several lines is named by the line it starts on. Error says why in
// words; Fields says it per field, for a door that words it itself: the
// client's fields as CreateClient names them, or "row" for a line that is
// not three fields of valid CSV.
type ImportRejection struct {
	Line   int
	Error  string
	Fields []domain.FieldError
}

// ImportReport is what an import did: every row read was created, skipped
// (the owner already has a client with its email, or an earlier row of the
// file has it) or rejected. When Import fails part of the way the report
// still counts what was done: the Created clients exist, and importing the
// same file again skips them.
type ImportReport struct {
	Created  int
	Skipped  int
	Rejected []ImportRejection
	// LastPosition is where the last created client's events landed, 0
	// when none was created.
	LastPosition int64
}

// ImportStore is what an import needs of the event store: the bulk
// creation of streams with their claims (*eventstore.Store).
type ImportStore interface {
	CreateStreams(ctx context.Context, streams []eventstore.NewStream) (eventstore.Result, error)
}

// ClientImporter handles ImportClients.
type ClientImporter struct {
	store   ImportStore
	batch   int
	maxRows int
	optOuts OptOutsLookup // nil: imported clients inherit nothing
}

// OptOutsLookup finds the standing of many of an owner's addresses at
// once (*projections.ResourceQueries), keyed by email key; addresses in
// good standing are left out.
type OptOutsLookup interface {
	OptOutsOf(ctx context.Context, owner uuid.UUID, emailKeys []string) (map[string]domain.OptOut, error)
}

// InheritOptOuts makes imported clients inherit their address's standing,
// as CreateClient's do: an import cannot re-subscribe an address.
func (h *ClientImporter) InheritOptOuts(l OptOutsLookup) { h.optOuts = l }

// NewClientImporter returns the handler.
func NewClientImporter(store ImportStore) (*ClientImporter, error) {
	if store == nil {
		return nil, errors.New("commands: client importer needs a store")
	}
	return &ClientImporter{store: store, batch: importBatch, maxRows: MaxImportRows}, nil
}

// Import handles ImportClients. It reads the file as it arrives and keeps
// no more than one batch of clients in memory. Each client is decided as
// CreateClient decides it (domain.NewClient) and created with its email
// claimed in the same commit, a batch of clients per commit, so every row
// is created completely or not at all. A row whose email the owner has
// already is skipped: its claim is taken, the commit fails naming every
// such key, and it is made again without those rows.
func (h *ClientImporter) Import(ctx context.Context, meta domain.Metadata, cmd ImportClients) (ImportReport, error) {
	if cmd.Owner == uuid.Nil || cmd.CSV == nil {
		return ImportReport{}, errors.New("commands: an import needs an owner and a file")
	}
	imp := &clientImport{h: h, meta: withCommand(meta, "ImportClients"), owner: cmd.Owner,
		scope: domain.ClientEmailScope(cmd.Owner), batchKeys: map[string]bool{}, messages: map[string]string{}}
	r, err := openClientCSV(cmd.CSV)
	if err != nil {
		return imp.report, err
	}
	last := 1 // the line of the last row read
	for rows := 0; ; rows++ {
		rec, err := r.Read()
		var pe *csv.ParseError
		switch {
		case errors.Is(err, io.EOF):
			return imp.report, imp.flush(ctx)
		case errors.As(err, &pe):
			last = pe.StartLine
		case err != nil:
			return imp.report, fmt.Errorf("read the file after line %d: %w", last, err)
		default:
			last, _ = r.FieldPos(0)
		}
		if rows >= imp.h.maxRows {
			if err := imp.flush(ctx); err != nil {
				return imp.report, err
			}
			return imp.report, fmt.Errorf("%w; line %d and those after it were not read", ErrImportTooManyRows, last)
		}
		if pe != nil {
			imp.reject(last, rowError("is not valid CSV: "+pe.Err.Error()))
			continue
		}
		if err := imp.add(last, rec); err != nil {
			return imp.report, err
		}
		if len(imp.pending) >= imp.h.batch {
			if err := imp.flush(ctx); err != nil {
				return imp.report, err
			}
		}
	}
}

// openClientCSV skips a byte-order mark and reads the header line.
func openClientCSV(in io.Reader) (*csv.Reader, error) {
	br := bufio.NewReaderSize(in, 64<<10)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1 // a row with the wrong number of fields is rejected on its own
	r.ReuseRecord = true
	head, err := r.Read()
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%w; the file is empty", ErrImportHeader)
	case errors.As(err, &pe):
		return nil, fmt.Errorf("%w; the first line is not valid CSV", ErrImportHeader)
	case err != nil:
		return nil, fmt.Errorf("read the header: %w", err)
	}
	ok := len(head) == len(ClientCSVHeader)
	for i := 0; ok && i < len(head); i++ {
		ok = strings.EqualFold(strings.TrimSpace(head[i]), ClientCSVHeader[i])
	}
	if !ok {
		found := strings.Join(head, ",")
		if len(found) > 100 {
			found = found[:100] + "…"
		}
		return nil, fmt.Errorf("%w; found %q", ErrImportHeader, found)
	}
	return r, nil
}

// clientImport is one import under way: the batch not yet committed and
// what was done so far.
type clientImport struct {
	h         *ClientImporter
	meta      domain.Metadata
	owner     uuid.UUID
	scope     string
	pending   []importedClient
	batchKeys map[string]bool   // the email keys of pending
	messages  map[string]string // one copy of each rejection message
	report    ImportReport
}

// importedClient is a row decided and waiting for its batch's commit.
type importedClient struct {
	line   int
	key    string
	client *domain.Client
}

func (imp *clientImport) reject(line int, fields ...domain.FieldError) {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f.Field + ": " + f.Message
	}
	msg := strings.Join(parts, "; ")
	if m, ok := imp.messages[msg]; ok {
		msg = m
	} else {
		imp.messages[msg] = msg
	}
	imp.report.Rejected = append(imp.report.Rejected, ImportRejection{Line: line, Error: msg, Fields: fields})
}

// rowError is the rejection of a line that is not a row of three fields.
func rowError(msg string) domain.FieldError { return domain.FieldError{Field: "row", Message: msg} }

// add decides the client of one row, as CreateClient does.
func (imp *clientImport) add(line int, rec []string) error {
	if len(rec) != len(ClientCSVHeader) {
		imp.reject(line, rowError(fmt.Sprintf("has %d fields, not 3 (email,full_name,comment)", len(rec))))
		return nil
	}
	c, err := domain.NewClient(uuid.Must(uuid.NewV7()), imp.owner, domain.ClientFields{Email: rec[0], FullName: rec[1], Comment: rec[2]})
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		imp.reject(line, ve.Fields...)
		return nil
	case err != nil:
		return err
	}
	key := domain.EmailKey(c.Email())
	if imp.batchKeys[key] {
		imp.report.Skipped++
		return nil
	}
	imp.batchKeys[key] = true
	imp.pending = append(imp.pending, importedClient{line: line, key: key, client: c})
	return nil
}

// flush creates the pending clients whose email the owner does not have
// yet, in one commit. An email of an earlier batch is claimed by then, so
// a duplicate across batches is skipped here. The claims are not looked up
// first: a file of new addresses, the usual import, commits at the first
// try, and one whose batch holds known addresses pays a failed try for it.
func (imp *clientImport) flush(ctx context.Context) error {
	if len(imp.pending) == 0 {
		return nil
	}
	first := imp.pending[0].line
	if err := imp.inherit(ctx); err != nil {
		return fmt.Errorf("create the clients from line %d: %w", first, err)
	}
	for len(imp.pending) > 0 {
		res, err := imp.h.store.CreateStreams(ctx, imp.streams())
		var ct *eventstore.ClaimsTakenError
		if errors.As(err, &ct) && imp.drop(imp.takenKeys(ct)...) > 0 {
			continue // clients with these emails were created meanwhile
		}
		if err != nil {
			return fmt.Errorf("create the clients from line %d: %w", first, err)
		}
		imp.report.Created += len(imp.pending)
		imp.report.LastPosition = res.LastPosition
		break
	}
	imp.pending = imp.pending[:0]
	clear(imp.batchKeys)
	return nil
}

// inherit gives the pending clients their address's standing.
func (imp *clientImport) inherit(ctx context.Context) error {
	if imp.h.optOuts == nil || len(imp.pending) == 0 {
		return nil
	}
	keys := make([]string, len(imp.pending))
	for i, p := range imp.pending {
		keys[i] = p.key
	}
	standing, err := imp.h.optOuts.OptOutsOf(ctx, imp.owner, keys)
	if err != nil {
		return err
	}
	for _, p := range imp.pending {
		if o, ok := standing[p.key]; ok {
			p.client.Inherit(o, time.Now())
		}
	}
	return nil
}

// drop skips the pending clients whose email key is among keys and
// returns how many it dropped.
func (imp *clientImport) drop(keys ...string) int {
	if len(keys) == 0 {
		return 0
	}
	gone := make(map[string]bool, len(keys))
	for _, k := range keys {
		gone[k] = true
	}
	kept := imp.pending[:0]
	for _, p := range imp.pending {
		if !gone[p.key] {
			kept = append(kept, p)
		}
	}
	n := len(imp.pending) - len(kept)
	clear(imp.pending[len(kept):])
	imp.pending = kept
	imp.report.Skipped += n
	return n
}

// takenKeys are the email keys of the import's scope among ct's claims.
func (imp *clientImport) takenKeys(ct *eventstore.ClaimsTakenError) []string {
	keys := make([]string, 0, len(ct.Claims))
	for _, c := range ct.Claims {
		if c.Scope == imp.scope {
			keys = append(keys, c.Key)
		}
	}
	return keys
}

// streams are the pending clients' creation: each its stream and its claim.
func (imp *clientImport) streams() []eventstore.NewStream {
	out := make([]eventstore.NewStream, len(imp.pending))
	for i, p := range imp.pending {
		id := p.client.ID()
		out[i] = eventstore.NewStream{Stream: clientStream(id), Events: newEvents(imp.meta, p.client.Changes()),
			Claims: []eventstore.Claim{{Scope: imp.scope, Key: p.key, Owner: id}}}
	}
	return out
}
