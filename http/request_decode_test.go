package http

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
)

type item struct {
	Email string `json:"email" validate:"required,email"`
}

type createReq struct {
	Email    string     `json:"email" validate:"required,email"`
	FullName string     `json:"full_name" validate:"required,max=255"`
	Password string     `json:"password" validate:"min=8,max=128"`
	Period   string     `json:"periodicity" validate:"omitempty,oneof=once daily weekly monthly"`
	Count    int        `json:"count" validate:"gte=0"`
	StartAt  *time.Time `json:"start_at"`
	OwnerID  uuid.UUID  `json:"owner_id"`
	Items    []item     `json:"items" validate:"omitempty,max=2,dive"`
}

// decodeHandler answers 200 with the decoded request, or the decode error.
func decodeHandler(w http.ResponseWriter, r *http.Request) {
	var req createReq
	if err := decode(w, r, &req); err != nil {
		respondError(w, r, err)
		return
	}
	respond(w, r, http.StatusOK, req)
}

func post(body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/x", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	decodeHandler(rec, req)
	return rec
}

const valid = `{"email":"a@example.com","full_name":"Ann","password":"secret123"}`

func TestDecode(t *testing.T) {
	big := `{"email":"a@example.com","full_name":"` + strings.Repeat("x", maxBodyBytes) + `"}`
	exact := func() string { // a valid body of exactly 1 MiB
		s := `{"email":"a@example.com","full_name":"Ann","password":"secret123"}`
		return s + strings.Repeat(" ", maxBodyBytes-len(s))
	}()
	tests := []struct {
		name   string
		body   string
		hdr    []string
		status int
		code   string
		field  string // first errors[].field, if any
		msg    string // its message
	}{
		{"valid", valid, nil, 200, "", "", ""},
		{"exactly 1 MiB", exact, nil, 200, "", "", ""},
		{"1 MiB + 1", exact + " ", nil, 413, "payload_too_large", "", ""},
		{"far too big", big, nil, 413, "payload_too_large", "", ""},
		{"unknown field", `{"email":"a@example.com","full_name":"A","password":"secret123","admin":true}`, nil, 400, "malformed_json", "admin", "is not a known field"},
		{"unknown nested field", `{"email":"a@example.com","full_name":"A","password":"secret123","items":[{"email":"b@example.com","x":1}]}`, nil, 400, "malformed_json", "x", "is not a known field"},
		{"wrong type", `{"email":5,"full_name":"A","password":"secret123"}`, nil, 400, "malformed_json", "email", "must be a string, got number"},
		{"wrong nested type", `{"email":"a@example.com","full_name":"A","password":"secret123","items":[{"email":1}]}`, nil, 400, "malformed_json", "items.email", "must be a string, got number"},
		{"bad time", `{"email":"a@example.com","full_name":"A","password":"secret123","start_at":"tomorrow"}`, nil, 400, "malformed_json", "start_at", "must be an RFC 3339 time such as 2026-11-25T09:00:00Z"},
		{"bad uuid", `{"email":"a@example.com","full_name":"A","password":"secret123","owner_id":"nope"}`, nil, 400, "malformed_json", "owner_id", ""},
		{"syntax", `{"email":`, nil, 400, "malformed_json", "", ""},
		{"syntax mid", `{"email" "a"}`, nil, 400, "malformed_json", "", ""},
		{"not an object", `[1,2]`, nil, 400, "malformed_json", "", ""},
		{"empty", ``, nil, 400, "malformed_json", "", ""},
		{"trailing data", valid + ` {}`, nil, 400, "malformed_json", "", ""},
		{"trailing garbage", valid + ` x`, nil, 400, "malformed_json", "", ""},
		{"form content type", valid, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media", "", ""},
		{"json with charset", valid, []string{"Content-Type", "application/json; charset=utf-8"}, 200, "", "", ""},
		{"required", `{"full_name":"A","password":"secret123"}`, nil, 422, "validation_failed", "email", "is required"},
		{"email", `{"email":"nope","full_name":"A","password":"secret123"}`, nil, 422, "validation_failed", "email", "must be a valid email"},
		{"max chars", `{"email":"a@example.com","full_name":"` + strings.Repeat("é", 256) + `","password":"secret123"}`, nil, 422, "validation_failed", "full_name", "must be at most 255 characters"},
		{"255 runes ok", `{"email":"a@example.com","full_name":"` + strings.Repeat("é", 255) + `","password":"secret123"}`, nil, 200, "", "", ""},
		{"min chars", `{"email":"a@example.com","full_name":"A","password":"short"}`, nil, 422, "validation_failed", "password", "must be at least 8 characters"},
		{"oneof", `{"email":"a@example.com","full_name":"A","password":"secret123","periodicity":"hourly"}`, nil, 422, "validation_failed", "periodicity", "must be one of: once, daily, weekly, monthly"},
		{"gte", `{"email":"a@example.com","full_name":"A","password":"secret123","count":-1}`, nil, 422, "validation_failed", "count", "must be at least 0"},
		{"max items", `{"email":"a@example.com","full_name":"A","password":"secret123","items":[{"email":"a@b.co"},{"email":"a@b.co"},{"email":"a@b.co"}]}`, nil, 422, "validation_failed", "items", "must be at most 2 items"},
		{"dive", `{"email":"a@example.com","full_name":"A","password":"secret123","items":[{"email":"a@b.co"},{"email":"bad"}]}`, nil, 422, "validation_failed", "items[1].email", "must be a valid email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := post(tt.body, tt.hdr...)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 200 {
				return
			}
			p := readProblem(t, rec)
			if p.Code != tt.code {
				t.Fatalf("code %q, want %q", p.Code, tt.code)
			}
			if tt.field != "" {
				if len(p.Errors) == 0 || p.Errors[0].Field != tt.field {
					t.Fatalf("errors %+v, want field %q", p.Errors, tt.field)
				}
				if tt.msg != "" && p.Errors[0].Message != tt.msg {
					t.Fatalf("message %q, want %q", p.Errors[0].Message, tt.msg)
				}
			}
		})
	}
}

// All the failures of a body are reported together, one entry per field.
func TestDecodeReportsEveryField(t *testing.T) {
	rec := post(`{"email":"x","full_name":"","password":"1"}`)
	p := readProblem(t, rec)
	got := map[string]string{}
	for _, e := range p.Errors {
		got[e.Field] = e.Message
	}
	want := map[string]string{"email": "must be a valid email", "full_name": "is required", "password": "must be at least 8 characters"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("errors %v, want %v", got, want)
	}
}

// null is refused as the body and as any member of it: read as "not sent",
// it would let a PATCH that sends a field as null change nothing and
// answer 200.
func TestDecodeRefusesNull(t *testing.T) {
	for body, fields := range map[string]string{
		"null":     "",
		" null \n": "",
		`{"email":"a@example.com","full_name":"Ann","password":"secret123","start_at":null}`: "start_at",
		`{"items":null,"email":null}`: "email items",
	} {
		rec := post(body)
		p := readProblem(t, rec)
		if rec.Code != 400 || p.Code != CodeMalformedJSON {
			t.Errorf("body %q: %d %s", body, rec.Code, p.Code)
		}
		var got []string
		for _, e := range p.Errors {
			got = append(got, e.Field)
		}
		if strings.Join(got, " ") != fields {
			t.Errorf("body %q: fields %q, want %q", body, got, fields)
		}
	}
	if rec := post(`{"email":"a@example.com","full_name":"Ann","password":"secret123","comment":"null"}`); rec.Code != 400 {
		t.Errorf("an unknown field: %d", rec.Code) // the string "null" is no null; the field is unknown
	}
	if rec := post(valid); rec.Code != 200 {
		t.Errorf("a valid body: %d %s", rec.Code, rec.Body)
	}
}

// Random junk never produces a 500.
func TestDecodeNeverInternal(t *testing.T) {
	bodies := []string{"null", "true", `"s"`, "0", "{}", `{"items":null}`, `{"items":{}}`, `{"start_at":null}`,
		`{"email":{"a":1}}`, "\xff\xfe", `{"email":"\u0000"}`, `{"count":1e400}`, `{"count":1.5}`, `{"owner_id":5}`,
		strings.Repeat("[", 100000), `{"a":` + strings.Repeat(`{"a":`, 20000)}
	for _, b := range bodies {
		rec := post(b)
		if rec.Code >= 500 {
			t.Errorf("body %.40q: %d %s", b, rec.Code, rec.Body)
		}
	}
}

func TestIfMatch(t *testing.T) {
	tests := []struct {
		h    string
		v    int64
		ok   bool
		fail bool
	}{
		{"", 0, false, false}, {"*", 0, false, false}, {`"3"`, 3, true, false}, {`W/"4"`, 4, true, false},
		{"5", 5, true, false}, {`"x"`, 0, false, true}, {`"-1"`, 0, false, true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("PUT", "/", nil)
		if tt.h != "" {
			r.Header.Set("If-Match", tt.h)
		}
		v, err := ifMatch(r)
		if (v != nil) != tt.ok || (v != nil && *v != tt.v) || (err != nil) != tt.fail {
			t.Errorf("If-Match %q: %v %v", tt.h, v, err)
		}
		if err != nil {
			rec := httptest.NewRecorder()
			respondError(rec, r, err)
			if rec.Code != 400 || readProblem(t, rec).Code != CodeMalformedHeader {
				t.Errorf("If-Match %q: answered %d", tt.h, rec.Code)
			}
		}
	}
	if etag(12) != `"12"` {
		t.Fatal(etag(12))
	}
}

type cursorPos struct {
	At time.Time `json:"at"`
	ID uuid.UUID `json:"id"`
}

func TestPaging(t *testing.T) {
	tests := []struct {
		query string
		limit int
		field string // 422 naming this field
	}{
		{"", 50, ""}, {"limit=1", 1, ""}, {"limit=500", 500, ""}, {"limit=501", 0, "limit"},
		{"limit=0", 0, "limit"}, {"limit=-3", 0, "limit"}, {"limit=ten", 0, "limit"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/x?"+tt.query, nil)
		limit, _, err := pageParams(r)
		if tt.field == "" {
			if err != nil || limit != tt.limit {
				t.Errorf("%q: %d %v", tt.query, limit, err)
			}
			continue
		}
		var ve *domain.ValidationError
		if !errors.As(err, &ve) || ve.Fields[0].Field != tt.field {
			t.Errorf("%q: err %v, want a validation error on %s", tt.query, err, tt.field)
		}
	}

	pos := cursorPos{At: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), ID: uuid.New()}
	c := encodeCursor(pos)
	if strings.ContainsAny(c, "+/=") {
		t.Fatalf("cursor %q is not URL-safe", c)
	}
	r := httptest.NewRequest("GET", "/x?cursor="+c, nil)
	_, cursor, err := pageParams(r)
	if err != nil || cursor != c {
		t.Fatalf("cursor %q %v", cursor, err)
	}
	var back cursorPos
	if err := decodeCursor(cursor, &back); err != nil || back != pos {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	var none cursorPos
	if err := decodeCursor("", &none); err != nil || none != (cursorPos{}) {
		t.Fatal("empty cursor must mean the first page")
	}
	for _, bad := range []string{"%%%", "bm90IGpzb24", encodeCursor(map[string]int{"other": 1})} {
		err := decodeCursor(bad, &back)
		rec := httptest.NewRecorder()
		respondError(rec, r, err)
		if rec.Code != 422 || readProblem(t, rec).Errors[0].Field != "cursor" {
			t.Errorf("cursor %q: %d", bad, rec.Code)
		}
	}
}

// Without a Content-Length (chunked upload) the limit is enforced while reading.
func TestDecodeTooLargeUnknownLength(t *testing.T) {
	body := `{"email":"a@example.com","full_name":"` + strings.Repeat("x", maxBodyBytes) + `"}`
	req := httptest.NewRequest("POST", "/x", strings.NewReader(body))
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	decodeHandler(rec, req)
	if rec.Code != 413 || readProblem(t, rec).Code != CodePayloadTooLarge {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
