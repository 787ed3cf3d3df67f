package domain_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/heraldmail/herald/domain"
)

// FuzzDecodeEvent feeds arbitrary stored data to every registered event
// type: decoding never panics, it accepts what encoding/json accepts and
// reads the same value from it (DecodeEvent uses a faster decoder), and
// what it accepts is stable: encoded and decoded again it encodes to the
// same bytes, so a rebuild reads an event as the first read did.
func FuzzDecodeEvent(f *testing.F) {
	types := domain.RegisteredEventTypes()
	if len(types) == 0 {
		f.Fatal("no event types registered")
	}
	for i, seed := range []string{
		`{}`, `null`, `{"email":"ann@example.org","full_name":"Ann"}`,
		`{"mailing_id":"0190a0b0-0000-7000-8000-000000000001","client_id":"0190a0b0-0000-7000-8000-000000000002","success":true,"attempted_at":"2026-12-03T08:00:00+03:00","attempt":1,"retry_at":null}`,
		`{"start_at":"2030-01-01T00:00:00Z","periodicity":"weekly","client_ids":["0190a0b0-0000-7000-8000-000000000002"]}`,
		`{"sent":-1,"failed":1e3}`, `[1,2]`, `"x"`,
	} {
		f.Add(uint8(i), []byte(seed))
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		typ := types[int(which)%len(types)]
		zero, err := domain.DecodeEvent(typ, nil)
		if err != nil {
			t.Fatal(err)
		}
		std := reflect.New(reflect.TypeOf(zero))
		stdErr := json.Unmarshal(data, std.Interface())
		ev, err := domain.DecodeEvent(typ, data)
		if len(data) == 0 {
			stdErr = nil // no data is the event's zero value
		}
		if (err == nil) != (stdErr == nil) {
			t.Fatalf("%s from %q: DecodeEvent says %v, encoding/json %v", typ, data, err, stdErr)
		}
		if err != nil {
			return
		}
		if want, got := mustJSON(t, std.Elem().Interface()), mustJSON(t, ev); !bytes.Equal(want, got) {
			t.Fatalf("%s from %q: DecodeEvent read %s, encoding/json %s", typ, data, got, want)
		}
		if ev.EventType() != typ {
			t.Fatalf("decoded %q as %q", typ, ev.EventType())
		}
		once, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("%s decoded from %q does not encode: %v", typ, data, err)
		}
		again, err := domain.DecodeEvent(typ, once)
		if err != nil {
			t.Fatalf("%s: its own encoding %s does not decode: %v", typ, once, err)
		}
		twice, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("%s is not stable:\n%s\n%s", typ, once, twice)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
