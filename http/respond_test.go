package http

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/heraldmail/herald/eventstore"
)

func TestRespondCommandAndJSON(t *testing.T) {
	req := httptest.NewRequest("POST", "/x", nil)
	rec := httptest.NewRecorder()
	respondCommand(rec, req, http.StatusCreated, eventstore.Result{LastPosition: 42, Version: 3}, map[string]string{"id": "x"})
	if rec.Code != 201 || rec.Header().Get("X-Event-Position") != "42" || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	if strings.TrimSpace(rec.Body.String()) != `{"id":"x"}` {
		t.Fatalf("body %q", rec.Body)
	}
	rec = httptest.NewRecorder()
	respondCommand(rec, req, http.StatusNoContent, eventstore.Result{LastPosition: 7}, nil)
	if rec.Code != 204 || rec.Header().Get("X-Event-Position") != "7" || rec.Body.Len() != 0 {
		t.Fatalf("204: %d %v %q", rec.Code, rec.Header(), rec.Body)
	}
	rec = httptest.NewRecorder()
	respond(rec, req, 200, map[string]any{"f": func() {}})
	if rec.Code != 500 || readProblem(t, rec).Code != CodeInternal {
		t.Fatalf("unencodable value: %d", rec.Code)
	}
}

func TestRespondPage(t *testing.T) {
	req := httptest.NewRequest("GET", "/x", nil)
	rec := httptest.NewRecorder()
	respondPage[int](rec, req, nil, "")
	if got := strings.TrimSpace(rec.Body.String()); got != `{"items":[],"next_cursor":null}` {
		t.Fatalf("last empty page: %s", got)
	}
	rec = httptest.NewRecorder()
	respondPage(rec, req, []string{"a"}, "abc")
	var p Page[string]
	if err := json.NewDecoder(bytes.NewReader(rec.Body.Bytes())).Decode(&p); err != nil || p.NextCursor == nil || *p.NextCursor != "abc" || p.Items[0] != "a" {
		t.Fatalf("page: %s", rec.Body)
	}
}
