package commands_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
)

// FuzzImportClients imports arbitrary files into a real store, each for a
// new owner: an import never panics, refuses a file only as invalid, and
// accounts for every row it read exactly once (created, skipped or
// rejected, a rejection naming a line of the file); the store then holds
// one client per created row, each with an email the domain accepts.
func FuzzImportClients(f *testing.F) {
	for _, seed := range []string{
		"email,full_name,comment\nann@example.org,Ann,\n",
		"\xef\xbb\xbfEmail, Full_Name ,COMMENT\r\nann@example.org,Ann,\"a \"\"quoted\"\"\ncomment\"\r\nANN@example.org,Ann again,\n",
		"email,full_name,comment\nnot-an-address,Bob,\nbob@example.org,Bob\n\"unterminated,x,y\n",
		"email,full_name,comment\n,,\n\n  ,  ,  \nc@example.org,\x00,\n",
		"name,email\nann@example.org,Ann\n",
		"",
	} {
		f.Add(seed)
	}
	e := newImportEnv(f)
	h := e.importer(f, nil, 3) // small batches: the fuzzer reaches the batch boundaries
	f.Fuzz(func(t *testing.T, file string) {
		owner := uuid.New()
		lines := strings.Count(file, "\n") + 1
		report, err := h.Import(e.ctx, domain.Metadata{ActorID: owner, CorrelationID: uuid.New()},
			commands.ImportClients{Owner: owner, CSV: strings.NewReader(file)})
		if err != nil {
			if !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("an import failed, not as invalid: %v", err)
			}
			if report.Created != 0 || report.Skipped != 0 || len(report.Rejected) != 0 {
				t.Fatalf("a refused file counted rows: %+v", report)
			}
			return
		}
		seen := map[int]bool{}
		for _, r := range report.Rejected {
			if r.Line < 2 || r.Line > lines || seen[r.Line] || r.Error == "" || len(r.Fields) == 0 {
				t.Fatalf("rejection %+v in a file of %d lines (seen %v)", r, lines, seen)
			}
			seen[r.Line] = true
		}
		if rows := report.Created + report.Skipped + len(report.Rejected); rows > lines-1 {
			t.Fatalf("%d rows accounted for in a file of %d lines", rows, lines)
		}
		var stored int
		rows, err := e.store.Pool().Query(e.ctx, `SELECT data->>'email' FROM events WHERE type = 'client.created' AND metadata->>'actor_id' = $1`, owner.String())
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var email string
			if err := rows.Scan(&email); err != nil {
				t.Fatal(err)
			}
			if msg := domain.CheckEmail(email); msg != "" {
				t.Errorf("stored a client with the address %q: %s", email, msg)
			}
			stored++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if stored != report.Created {
			t.Fatalf("the store holds %d clients of the import, the report says %d created", stored, report.Created)
		}
	})
}
