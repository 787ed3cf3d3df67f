package http

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/projections"
)

// encodingJSON is what encoding/json writes for v, the reference of the
// hand-written encoders.
func encodingJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

// The hand-written encoders must write exactly what encoding/json does.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	texts := []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\r", "\x00\x01\x1f\x7f",
		"<html> & 'x'", "ünïcödé ✓", "\u2028\u2029", "bad \xff utf8", "emoji 😀"}
	zones := []*time.Location{time.UTC, time.FixedZone("x", 5*3600+30*60), time.FixedZone("y", -8*3600)}
	r := rand.New(rand.NewPCG(1, 2))
	var rows []projections.ClientRow
	for i := range 200 {
		ts := time.Unix(r.Int64N(4e9), r.Int64N(1e9)*int64(i%3)).In(zones[i%len(zones)])
		rows = append(rows, projections.ClientRow{ID: uuid.New(), OwnerID: uuid.New(),
			Email: texts[r.IntN(len(texts))], FullName: texts[r.IntN(len(texts))], Comment: texts[r.IntN(len(texts))],
			Version: r.Int64N(1 << 40), CreatedAt: ts, UpdatedAt: ts.Add(time.Duration(r.IntN(1e9)))})
	}
	next, odd := "eyJpZCI6IngifQ", `odd "cursor"`
	values := []any{rows[0], rows[1], rows[199]}
	for _, p := range []Page[projections.ClientRow]{{Items: []projections.ClientRow{}}, {Items: rows[:1]},
		{Items: rows, NextCursor: &next}, {Items: rows[:50], NextCursor: &odd}} {
		values = append(values, p)
	}
	for _, v := range values {
		want, err := encodingJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		prefix := []byte("kept:")
		got, err := appendJSON(prefix, v)
		if err != nil || !bytes.Equal(got, append(prefix, want...)) {
			t.Fatalf("%T differs (%v):\nwant %s\ngot  %s", v, err, want, got)
		}
	}
	// A time encoding/json refuses gives its error, not a bad body.
	bad := append([]projections.ClientRow(nil), rows[:3]...)
	bad[1].UpdatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, v := range []any{bad[1], Page[projections.ClientRow]{Items: bad}} {
		if _, werr := encodingJSON(v); werr == nil {
			t.Fatal("encoding/json accepted a year of five digits")
		}
		if got, err := appendJSON([]byte("kept"), v); err == nil || string(got) != "kept" {
			t.Fatalf("%T with an unencodable time: %q, %v", v, got, err)
		}
	}
}

// A page of clients is answered with the hand-written encoder, and a page
// it cannot encode answers 500 like any unencodable answer.
func TestRespondPageOfClients(t *testing.T) {
	now := time.Now().UTC()
	rows := []projections.ClientRow{{ID: uuid.New(), OwnerID: uuid.New(), Email: "a@example.org", FullName: "Ä \"b\"",
		Comment: "<c>\n", Version: 3, CreatedAt: now, UpdatedAt: now}}
	rec := httptest.NewRecorder()
	respondPage(rec, httptest.NewRequest("GET", "/", nil), rows, "abc")
	want, err := encodingJSON(Page[projections.ClientRow]{Items: rows, NextCursor: new("abc")})
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), want) || rec.Header().Get("Content-Type") != "application/json" ||
		rec.Header().Get("Content-Length") != strconv.Itoa(len(want)) {
		t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	rows[0].CreatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	rec = httptest.NewRecorder()
	respondPage(rec, httptest.NewRequest("GET", "/", nil), rows, "")
	if rec.Code != 500 || readProblem(t, rec).Code != CodeInternal {
		t.Fatalf("unencodable page: %d %s", rec.Code, rec.Body)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a", "\"", "\\", "\x00", "\xff", "\u2028", "<>&", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := encodingJSON(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}

func BenchmarkRespondClientPage(b *testing.B) {
	rows := make([]projections.ClientRow, 50)
	now := time.Now().UTC()
	for i := range rows {
		rows[i] = projections.ClientRow{ID: uuid.New(), OwnerID: uuid.New(), Email: "client1@example.org",
			FullName: "Client 1 of someone", Comment: "bench", Version: 1, CreatedAt: now, UpdatedAt: now}
	}
	r := httptest.NewRequest("GET", "/api/v1/clients", nil)
	b.Run("encoding/json", func(b *testing.B) {
		next := "next"
		for range b.N {
			body, err := encodingJSON(Page[projections.ClientRow]{Items: rows, NextCursor: &next})
			if err != nil {
				b.Fatal(err)
			}
			writeBody(httptest.NewRecorder(), r, 200, "application/json", append(body, '\n'))
		}
	})
	b.Run("by hand", func(b *testing.B) {
		for range b.N {
			respondPage(httptest.NewRecorder(), r, rows, "next")
		}
	})
}
