package commands_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

type importEnv struct {
	ctx     context.Context
	store   *eventstore.Store
	clients *commands.ClientHandler
	owner   uuid.UUID
}

func newImportEnv(t testing.TB) *importEnv {
	t.Helper()
	pool := testenv.Pool(t)
	store, err := eventstore.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	q, err := projections.NewResourceQueries(pool)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := commands.NewClientHandler(store, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &importEnv{ctx: context.Background(), store: store, clients: clients, owner: uuid.New()}
}

// importer returns an importer over store (the env's own when nil) with a
// commit every batch clients.
func (e *importEnv) importer(t testing.TB, store commands.ImportStore, batch int) *commands.ClientImporter {
	t.Helper()
	if store == nil {
		store = e.store
	}
	h, err := commands.NewClientImporter(store)
	if err != nil {
		t.Fatal(err)
	}
	if batch > 0 {
		commands.SetImportLimits(h, batch, commands.MaxImportRows)
	}
	return h
}

func (e *importEnv) run(t testing.TB, h *commands.ClientImporter, csv string) (commands.ImportReport, error) {
	t.Helper()
	return h.Import(e.ctx, domain.Metadata{ActorID: e.owner, CorrelationID: uuid.New()},
		commands.ImportClients{Owner: e.owner, CSV: strings.NewReader(csv)})
}

// created returns the clients the store holds, by lower-cased email. It
// reads the events table itself: ReadAll waits for other databases'
// transactions, and tests share the server.
func (e *importEnv) created(t testing.TB) map[string]domain.ClientCreated {
	t.Helper()
	rows, err := e.store.Pool().Query(e.ctx, `SELECT data, metadata->>'command' FROM events WHERE type = 'client.created'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]domain.ClientCreated{}
	for rows.Next() {
		var (
			c       domain.ClientCreated
			command string
		)
		if err := rows.Scan(&c, &command); err != nil {
			t.Fatal(err)
		}
		if command != "ImportClients" && command != "CreateClient" {
			t.Errorf("a client created by command %q", command)
		}
		out[strings.ToLower(c.Email)] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImportClients(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	if _, err := e.clients.Create(e.ctx, domain.Metadata{ActorID: e.owner}, commands.CreateClient{Owner: e.owner,
		Fields: domain.ClientFields{Email: "Kept@Example.org", FullName: "Kept Before"}}); err != nil {
		t.Fatal(err)
	}
	file := "\ufeffemail,full_name,comment\r\n" + // line 1, with a byte-order mark
		"ann@example.org,Ann Lee,met at the fair\r\n" + // 2
		"not an address,Bad Email,\r\n" + // 3
		"ANN@example.org,Ann Twice,\r\n" + // 4: Ann again, another case
		"kept@example.org,Kept Again,\r\n" + // 5: the owner has Kept already
		"bob@example.org,,no name\r\n" + // 6
		"carl@example.org,Carl\r\n" + // 7: two fields
		"\"dora@example.org\",\"Dora, D.\",\"two\r\nlines\"\r\n" + // 8-9
		"eve@example.org,Eve \"Q\" Doe,x\r\n" + // 10: a bare quote
		"\r\n" + // 11: empty, ignored
		"  fay@example.org  ,  Fay  ,  spaced  \r\n" // 12

	rep, err := e.run(t, e.importer(t, nil, 0), file)
	if err != nil {
		t.Fatal(err)
	}
	want := []commands.ImportRejection{
		{Line: 3, Error: "email: must be a valid email", Fields: []domain.FieldError{{Field: "email", Message: "must be a valid email"}}},
		{Line: 6, Error: "full_name: is required", Fields: []domain.FieldError{{Field: "full_name", Message: "is required"}}},
		{Line: 7, Error: "row: has 2 fields, not 3 (email,full_name,comment)",
			Fields: []domain.FieldError{{Field: "row", Message: "has 2 fields, not 3 (email,full_name,comment)"}}},
		{Line: 10, Error: `row: is not valid CSV: bare " in non-quoted-field`,
			Fields: []domain.FieldError{{Field: "row", Message: `is not valid CSV: bare " in non-quoted-field`}}},
	}
	if rep.Created != 3 || rep.Skipped != 2 || !reflect.DeepEqual(rep.Rejected, want) || rep.LastPosition == 0 {
		t.Fatalf("report %+v, want 3 created, 2 skipped and rejected %+v", rep, want)
	}
	got := e.created(t)
	if len(got) != 4 {
		t.Fatalf("the store holds %d clients: %+v", len(got), got)
	}
	if c := got["ann@example.org"]; c.FullName != "Ann Lee" || c.Comment != "met at the fair" || c.OwnerID != e.owner {
		t.Errorf("Ann: %+v", c)
	}
	if c := got["dora@example.org"]; c.FullName != "Dora, D." || c.Comment != "two\r\nlines" && c.Comment != "two\nlines" {
		t.Errorf("Dora: %+v", c)
	}
	if c := got["fay@example.org"]; c.Email != "fay@example.org" || c.FullName != "Fay" || c.Comment != "  spaced  " {
		t.Errorf("Fay, trimmed as CreateClient trims: %+v", c)
	}
	if c := got["kept@example.org"]; c.FullName != "Kept Before" {
		t.Errorf("the client the owner had was changed: %+v", c)
	}

	t.Run("the same file again skips every client it created", func(t *testing.T) {
		rep, err := e.run(t, e.importer(t, nil, 0), file)
		if err != nil || rep.Created != 0 || rep.Skipped != 5 || len(rep.Rejected) != 4 {
			t.Fatalf("again: %+v, %v", rep, err)
		}
	})

	t.Run("CreateClient refuses an imported email", func(t *testing.T) {
		_, err := e.clients.Create(e.ctx, domain.Metadata{ActorID: e.owner}, commands.CreateClient{Owner: e.owner,
			Fields: domain.ClientFields{Email: "DORA@example.org", FullName: "Dora"}})
		if !errors.Is(err, domain.ErrEmailTaken) {
			t.Fatalf("create Dora again: %v", err)
		}
	})

	t.Run("another owner imports the same emails", func(t *testing.T) {
		other := *e
		other.owner = uuid.New()
		rep, err := other.run(t, e.importer(t, nil, 0), "email,full_name,comment\nann@example.org,Ann Other,\n")
		if err != nil || rep.Created != 1 || rep.Skipped != 0 {
			t.Fatalf("the other owner's import: %+v, %v", rep, err)
		}
	})
}

func TestImportClientsRefusesAFileWithoutTheHeader(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	h := e.importer(t, nil, 0)
	for name, file := range map[string]string{
		"empty":         "",
		"no header":     "ann@example.org,Ann,\n",
		"other columns": "e-mail,name,comment\nann@example.org,Ann,\n",
		"two columns":   "email,full_name\nann@example.org,Ann\n",
		"broken CSV":    "\"email,full_name,comment\n",
	} {
		rep, err := e.run(t, h, file)
		if !errors.Is(err, commands.ErrImportHeader) || !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
		if rep.Created != 0 || rep.Skipped != 0 || len(rep.Rejected) != 0 {
			t.Errorf("%s: %+v", name, rep)
		}
	}
	if got := e.created(t); len(got) != 0 {
		t.Fatalf("created %d clients", len(got))
	}
	rep, err := e.run(t, h, " Email , FULL_NAME ,Comment\nann@example.org,Ann,\n")
	if err != nil || rep.Created != 1 {
		t.Fatalf("a header in other case and with spaces: %+v, %v", rep, err)
	}
}

func TestImportClientsManyRows(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	const rows = 10_000
	var b strings.Builder
	b.WriteString("email,full_name,comment\n")
	for i := range rows {
		switch {
		case i%1000 == 998 && i > 1000: // a row of the batch before
			fmt.Fprintf(&b, "C%05d@EXAMPLE.ORG,Again,\n", i-1001)
		case i%1000 == 999: // a row of the same batch
			fmt.Fprintf(&b, "C%05d@EXAMPLE.ORG,Again,\n", i-998)
		case i%1000 == 500:
			fmt.Fprintf(&b, "client %d,No Address,\n", i)
		default:
			fmt.Fprintf(&b, "c%05d@example.org,Client %d,row %d\n", i, i, i)
		}
	}
	rep, err := e.run(t, e.importer(t, nil, 0), b.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != rows-29 || rep.Skipped != 19 || len(rep.Rejected) != 10 {
		t.Fatalf("created %d, skipped %d, rejected %d", rep.Created, rep.Skipped, len(rep.Rejected))
	}
	for i, r := range rep.Rejected {
		if r.Line != i*1000+502 || r.Error != "email: must be a valid email" {
			t.Errorf("rejection %d: %+v", i, r)
		}
	}
	if got := e.created(t); len(got) != rows-29 {
		t.Fatalf("the store holds %d clients", len(got))
	}
}

// A large file, many batches: rows the file has twice (in one batch and
// across batches, in other case), rows whose client the owner had before,
// and bad lines are each counted once and exactly, the rejections with
// their lines, and every created client is one event in the store.
func TestImportClientsLargeFile(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	const rows = 200_000
	const before = rows / 100
	var pre strings.Builder
	pre.WriteString("email,full_name,comment\n")
	for i := range before {
		fmt.Fprintf(&pre, "pre%05d@example.org,Before %d,\n", i, i)
	}
	if rep, err := e.run(t, e.importer(t, nil, 0), pre.String()); err != nil || rep.Created != before {
		t.Fatalf("the clients before: %+v, %v", rep.Created, err)
	}

	var (
		file      strings.Builder
		wantLines []int
		skipped   int
	)
	file.WriteString("email,full_name,comment\n")
	for i := range rows {
		line := i + 2
		switch {
		case i%100 == 37:
			fmt.Fprintf(&file, "client %d,No Address,\n", i)
			wantLines = append(wantLines, line)
		case i%100 == 55:
			fmt.Fprintf(&file, "c%06d@example.org,Two Fields\n", i)
			wantLines = append(wantLines, line)
		case i%100 == 73 && i >= 100: // a row 50 lines up, often in the same batch
			fmt.Fprintf(&file, "C%06d@Example.ORG,Again,\n", i-50)
			skipped++
		case i%1000 == 999 && i >= 20_000: // a row many batches up
			fmt.Fprintf(&file, "c%06d@example.org,Again,\n", i-19_001)
			skipped++
		case i%100 == 91: // a client the owner had before
			fmt.Fprintf(&file, "PRE%05d@example.org,Had Before,\n", i/100)
			skipped++
		default:
			fmt.Fprintf(&file, "c%06d@example.org,Client %d,row %d\n", i, i, i)
		}
	}
	correlation := uuid.New()
	rep, err := e.importer(t, nil, 0).Import(e.ctx, domain.Metadata{ActorID: e.owner, CorrelationID: correlation},
		commands.ImportClients{Owner: e.owner, CSV: strings.NewReader(file.String())})
	if err != nil {
		t.Fatal(err)
	}
	created := rows - skipped - len(wantLines)
	if rep.Created != created || rep.Skipped != skipped || len(rep.Rejected) != len(wantLines) {
		t.Fatalf("created %d, skipped %d, rejected %d; want %d, %d, %d",
			rep.Created, rep.Skipped, len(rep.Rejected), created, skipped, len(wantLines))
	}
	for i, r := range rep.Rejected {
		if r.Line != wantLines[i] {
			t.Fatalf("rejection %d on line %d, want %d: %+v", i, r.Line, wantLines[i], r)
		}
	}

	var events, streams, firstVersions, emails, clients int
	var last int64
	err = e.store.Pool().QueryRow(e.ctx, `SELECT count(*), count(DISTINCT stream_id), count(*) FILTER (WHERE version = 1),
    max(position) FROM events WHERE metadata->>'correlation_id' = $1`, correlation.String()).Scan(&events, &streams, &firstVersions, &last)
	if err != nil {
		t.Fatal(err)
	}
	if events != created || streams != created || firstVersions != created || last != rep.LastPosition {
		t.Fatalf("the import stored %d events in %d streams (%d at version 1), the last at %d; want %d, the last at %d",
			events, streams, firstVersions, last, created, rep.LastPosition)
	}
	err = e.store.Pool().QueryRow(e.ctx, `SELECT count(*), count(DISTINCT lower(data->>'email')) FROM events
WHERE type = 'client.created' AND data->>'owner_id' = $1`, e.owner.String()).Scan(&clients, &emails)
	if err != nil {
		t.Fatal(err)
	}
	if clients != created+before || emails != clients {
		t.Fatalf("the owner has %d clients with %d emails, want %d", clients, emails, created+before)
	}
}

func TestImportClientsStopsAfterMaxRows(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	h := e.importer(t, nil, 0)
	commands.SetImportLimits(h, 2, 3)
	rep, err := e.run(t, h, "email,full_name,comment\na@example.org,A,\nb@example.org,B,\nc\"c,C,\nd@example.org,D,\n")
	if !errors.Is(err, commands.ErrImportTooManyRows) || !strings.Contains(err.Error(), "line 5") {
		t.Fatalf("four rows with room for three: %v", err)
	}
	if rep.Created != 2 || len(rep.Rejected) != 1 {
		t.Fatalf("the first three rows: %+v", rep)
	}
}

// failingStore is the real store whose commit fails from the n-th on.
type failingStore struct {
	*eventstore.Store
	commits, failFrom int32
}

var errStoreDown = errors.New("the store went away")

func (s *failingStore) CreateStreams(ctx context.Context, streams []eventstore.NewStream) (eventstore.Result, error) {
	if atomic.AddInt32(&s.commits, 1) >= s.failFrom {
		return eventstore.Result{}, errStoreDown
	}
	return s.Store.CreateStreams(ctx, streams)
}

// Nothing is half imported: a store failing on the third batch leaves the
// two batches before it, every client complete, and says so; importing the
// file again creates the rest.
func TestImportClientsStoreFailingMidway(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	var b strings.Builder
	b.WriteString("email,full_name,comment\n")
	for i := range 35 {
		fmt.Fprintf(&b, "c%02d@example.org,Client %d,\n", i, i)
	}
	rep, err := e.run(t, e.importer(t, &failingStore{Store: e.store, failFrom: 3}, 10), b.String())
	if !errors.Is(err, errStoreDown) || !strings.Contains(err.Error(), "line 22") {
		t.Fatalf("the failing import: %v", err)
	}
	if rep.Created != 20 {
		t.Fatalf("created before the failure: %+v", rep)
	}
	if got := e.created(t); len(got) != 20 {
		t.Fatalf("the store holds %d clients", len(got))
	}
	rep, err = e.run(t, e.importer(t, nil, 10), b.String())
	if err != nil || rep.Created != 15 || rep.Skipped != 20 {
		t.Fatalf("again: %+v, %v", rep, err)
	}
}

// Rows whose email the owner has already fail their batch's commit, which
// is made again without them: the others of the batch are created.
func TestImportClientsSkipsAnEmailClaimedMeanwhile(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	for _, email := range []string{"b@example.org", "d@example.org"} {
		if _, err := e.clients.Create(e.ctx, domain.Metadata{ActorID: e.owner}, commands.CreateClient{Owner: e.owner,
			Fields: domain.ClientFields{Email: email, FullName: "Before"}}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := e.run(t, e.importer(t, nil, 0),
		"email,full_name,comment\na@example.org,A,\nb@example.org,B,\nc@example.org,C,\nd@example.org,D,\n")
	if err != nil || rep.Created != 2 || rep.Skipped != 2 {
		t.Fatalf("%+v, %v", rep, err)
	}
	got := e.created(t)
	if len(got) != 4 || got["b@example.org"].FullName != "Before" || got["c@example.org"].FullName != "C" {
		t.Fatalf("the store holds %+v", got)
	}
}

// The decorated import logs one line with its counts and is counted.
func TestDecoratedImportLogsItsCounts(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	var logs bytes.Buffer
	imp := commands.NewDecorator(zerolog.New(&logs)).ClientImport(e.importer(t, nil, 0))
	reg := prometheus.NewRegistry()
	reg.MustRegister(commands.Collectors()...)
	before, _ := commandCount(t, reg, "ImportClients", "ok")
	_, err := imp.Import(e.ctx, domain.Metadata{ActorID: e.owner}, commands.ImportClients{Owner: e.owner,
		CSV: strings.NewReader("email,full_name,comment\na@example.org,A,\na@example.org,A,\nbad,B,\n")})
	if err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if line["command"] != "ImportClients" || line["outcome"] != "ok" || line["created"] != 1.0 || line["skipped"] != 1.0 || line["rejected"] != 1.0 {
		t.Errorf("log line %v", line)
	}
	if after, _ := commandCount(t, reg, "ImportClients", "ok"); after != before+1 {
		t.Errorf("herald_commands_total{ImportClients,ok} went from %d to %d", before, after)
	}
}

// BenchmarkImportClients imports HERALD_BENCH_IMPORT_ROWS rows (default
// 100,000) into a new owner's directory per iteration, through the real
// store, and reports clients/s.
func BenchmarkImportClients(b *testing.B) {
	rows := 100_000
	if s := os.Getenv("HERALD_BENCH_IMPORT_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > commands.MaxImportRows {
			b.Fatalf("HERALD_BENCH_IMPORT_ROWS=%q: want 1 to %d", s, commands.MaxImportRows)
		}
		rows = n
	}
	e := newImportEnv(b)
	h := e.importer(b, nil, 0)
	var file bytes.Buffer
	file.WriteString("email,full_name,comment\n")
	for i := range rows {
		fmt.Fprintf(&file, "client%06d@example.org,Client Number %d,imported for the benchmark\n", i, i)
	}
	var took time.Duration
	created := 0
	for b.Loop() {
		owner := uuid.New()
		start := time.Now()
		rep, err := h.Import(e.ctx, domain.Metadata{ActorID: owner}, commands.ImportClients{Owner: owner, CSV: bytes.NewReader(file.Bytes())})
		took += time.Since(start)
		if err != nil || rep.Created != rows {
			b.Fatalf("%+v, %v", rep.Created, err)
		}
		created += rep.Created
	}
	b.ReportMetric(float64(created)/took.Seconds(), "clients/s")
}
