package http

import (
	"bytes"
	"math/rand/v2"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/projections"
)

// The hand-written page encoder must write exactly what encoding/json does.
func TestWritePageWithMatchesEncodingJSON(t *testing.T) {
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
	for _, c := range []struct {
		items []projections.ClientRow
		next  string
	}{{nil, ""}, {rows[:1], ""}, {rows, "eyJpZCI6IngifQ"}, {rows[:50], `odd "cursor"`}} {
		want, got := httptest.NewRecorder(), httptest.NewRecorder()
		writePage(want, c.items, c.next)
		writePageWith(got, c.items, c.next, appendClientJSON)
		if !bytes.Equal(want.Body.Bytes(), got.Body.Bytes()) {
			t.Fatalf("body differs:\nwant %s\ngot  %s", want.Body, got.Body)
		}
		if want.Code != got.Code || want.Header().Get("Content-Length") != got.Header().Get("Content-Length") ||
			want.Header().Get("Content-Type") != got.Header().Get("Content-Type") {
			t.Fatalf("status or headers differ: %d %v, %d %v", want.Code, want.Header(), got.Code, got.Header())
		}
	}
	// A time encoding/json refuses gives its answer (500), not a bad body.
	bad := append([]projections.ClientRow(nil), rows[:3]...)
	bad[1].UpdatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	want, got := httptest.NewRecorder(), httptest.NewRecorder()
	writePage(want, bad, "")
	writePageWith(got, bad, "", appendClientJSON)
	if want.Code != 500 || got.Code != want.Code || !bytes.Equal(want.Body.Bytes(), got.Body.Bytes()) {
		t.Fatalf("unencodable time: want %d %s, got %d %s", want.Code, want.Body, got.Code, got.Body)
	}
}

// A command's answer on a client is what answer writes.
func TestWriteClientAnswerMatchesAnswer(t *testing.T) {
	now := time.Now().UTC()
	for _, c := range []projections.ClientRow{
		{ID: uuid.New(), OwnerID: uuid.New(), Email: "a@example.org", FullName: "Ä \"b\"", Comment: "<c>\n", Version: 3, CreatedAt: now, UpdatedAt: now},
		{ID: uuid.New(), CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		res := eventstore.Result{LastPosition: 42, Version: c.Version}
		want, got := httptest.NewRecorder(), httptest.NewRecorder()
		answer(want, 201, res, c)
		writeClientAnswer(got, 201, res, c)
		if want.Code != got.Code || !bytes.Equal(want.Body.Bytes(), got.Body.Bytes()) {
			t.Fatalf("want %d %s, got %d %s", want.Code, want.Body, got.Code, got.Body)
		}
		for _, h := range []string{"ETag", HeaderEventPosition, "Content-Type", "Content-Length"} {
			if want.Header().Get(h) != got.Header().Get(h) {
				t.Fatalf("%s: want %q, got %q", h, want.Header().Get(h), got.Header().Get(h))
			}
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a", "\"", "\\", "\x00", "\xff", "\u2028", "<>&", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := marshalJSON(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}

func BenchmarkWriteClientPage(b *testing.B) {
	rows := make([]projections.ClientRow, 50)
	now := time.Now().UTC()
	for i := range rows {
		rows[i] = projections.ClientRow{ID: uuid.New(), OwnerID: uuid.New(), Email: "client1@example.org",
			FullName: "Client 1 of someone", Comment: "bench", Version: 1, CreatedAt: now, UpdatedAt: now}
	}
	b.Run("encoding/json", func(b *testing.B) {
		for range b.N {
			writePage(httptest.NewRecorder(), rows, "next")
		}
	})
	b.Run("by hand", func(b *testing.B) {
		for range b.N {
			writePageWith(httptest.NewRecorder(), rows, "next", appendClientJSON)
		}
	})
}
