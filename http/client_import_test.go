package http_test

import (
	"encoding/csv"
	"slices"
	"strings"
	"testing"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/apptest"
)

type importJSON struct {
	Created  int `json:"created"`
	Skipped  int `json:"skipped"`
	Rejected []struct {
		Line  int    `json:"line"`
		Error string `json:"error"`
	} `json:"rejected"`
}

// exported reads GET /api/v1/clients/export as u, after position, and
// returns its rows after the header.
func exported(t *testing.T, env *apptest.Env, u rUser, query, pos string) [][]string {
	t.Helper()
	res := env.Do("GET", "/api/v1/clients/export"+query, nil, u.auth("X-Min-Position", pos)...)
	want(t, "export", res, 200)
	if ct := res.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("export Content-Type %q", ct)
	}
	recs, err := csv.NewReader(strings.NewReader(string(res.Body))).ReadAll()
	if err != nil {
		t.Fatalf("export %q: %v", res.Body, err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], []string{"email", "full_name", "comment"}) {
		t.Fatalf("export header: %q", res.Body)
	}
	return recs[1:]
}

func TestClientImportAndExport(t *testing.T) {
	t.Parallel()
	env := startResources(t)
	a, b := newUser(t, env), newUser(t, env)
	staff := newUser(t, env, domain.GroupManagers)
	env.Create(a.Token, "/api/v1/clients", map[string]any{"email": "kept@example.org", "full_name": "Kept Before"})
	csvType := []string{"Content-Type", "text/csv"}

	res := env.Do("POST", "/api/v1/clients/import", "email,full_name,comment\n", csvType...)
	want(t, "anonymous import", res, 401)
	res = env.Do("POST", "/api/v1/clients/import", "email,full_name,comment\n", a.auth()...)
	want(t, "a JSON body", res, 415, "unsupported_media")
	res = env.Do("POST", "/api/v1/clients/import", "email,full_name,comment\n", a.auth("Content-Type", "text/csv; charset=latin1")...)
	want(t, "CSV in Latin-1", res, 415, "unsupported_media")
	res = env.Do("POST", "/api/v1/clients/import", "mail;name\nann@example.org;Ann\n", a.auth(csvType...)...)
	want(t, "a file without the header", res, 422, "validation_failed")
	if !strings.Contains(string(res.Body), "email,full_name,comment") {
		t.Errorf("the refusal does not name the header: %s", res.Body)
	}

	file := "\ufeffemail,full_name,comment\r\n" +
		"ann@example.org,Ann Lee,\"met at the fair, \"\"twice\"\"\"\r\n" +
		"not an address,Nobody,\r\n" +
		"ANN@example.org,Ann Again,\r\n" +
		"Kept@example.org,Kept Again,\r\n" +
		"bob@example.org,Bob Stone,\r\n"
	res = env.Do("POST", "/api/v1/clients/import", file, a.auth("Content-Type", "text/csv; charset=utf-8")...)
	want(t, "import", res, 200)
	var got importJSON
	res.Decode(t, &got)
	if got.Created != 2 || got.Skipped != 2 || len(got.Rejected) != 1 || got.Rejected[0].Line != 3 ||
		got.Rejected[0].Error != "email: must be a valid email" {
		t.Fatalf("import answer %s", res.Body)
	}
	pos := position(t, res)

	rows := exported(t, env, a, "", pos)
	wantRows := [][]string{{"kept@example.org", "Kept Before", ""}, {"ann@example.org", "Ann Lee", `met at the fair, "twice"`},
		{"bob@example.org", "Bob Stone", ""}}
	if !slices.EqualFunc(rows, wantRows, slices.Equal) {
		t.Fatalf("a's export %q, want %q", rows, wantRows)
	}

	t.Run("an empty import answers an empty list, not null", func(t *testing.T) {
		res := env.Do("POST", "/api/v1/clients/import", "email,full_name,comment\n", a.auth(csvType...)...)
		want(t, "header only", res, 200)
		if body := strings.TrimSpace(string(res.Body)); body != `{"created":0,"skipped":0,"rejected":[]}` {
			t.Errorf("answer %s", body)
		}
	})

	t.Run("each owner exports their own clients", func(t *testing.T) {
		if rows := exported(t, env, b, "", pos); len(rows) != 0 {
			t.Errorf("b's export: %q", rows)
		}
		if rows := exported(t, env, b, "?owner_id="+a.ID.String(), pos); len(rows) != 0 {
			t.Errorf("b naming a: %q", rows)
		}
		if rows := exported(t, env, staff, "?owner_id="+a.ID.String(), pos); len(rows) != 3 {
			t.Errorf("staff naming a: %q", rows)
		}
		if rows := exported(t, env, staff, "", pos); len(rows) != 0 {
			t.Errorf("staff's own export: %q", rows)
		}
		want(t, "anonymous export", env.Do("GET", "/api/v1/clients/export", nil), 401)
	})

	t.Run("an export imports into another directory as it is", func(t *testing.T) {
		res := env.Do("GET", "/api/v1/clients/export", nil, a.auth("X-Min-Position", pos)...)
		res = env.Do("POST", "/api/v1/clients/import", res.Body, b.auth(csvType...)...)
		want(t, "b imports a's export", res, 200)
		var got importJSON
		res.Decode(t, &got)
		if got.Created != 3 || got.Skipped != 0 || len(got.Rejected) != 0 {
			t.Fatalf("answer %s", res.Body)
		}
		if rows := exported(t, env, b, "", position(t, res)); !slices.EqualFunc(rows, wantRows, slices.Equal) {
			t.Errorf("b's export %q", rows)
		}
	})
}
