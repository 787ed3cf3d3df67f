package domain

import (
	"errors"
	"testing"
)

type testThingHappened struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func (testThingHappened) EventType() string { return "test.thing_happened" }

func TestDecodeEventReturnsRegisteredType(t *testing.T) {
	RegisterEvents(testThingHappened{})
	ev, err := DecodeEvent("test.thing_happened", []byte(`{"name":"a","n":3}`))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := ev.(testThingHappened)
	if !ok {
		t.Fatalf("decoded %T, want testThingHappened", ev)
	}
	if got.Name != "a" || got.N != 3 {
		t.Fatalf("decoded %+v", got)
	}
}

func TestDecodeEventUnknownTypeIsAnError(t *testing.T) {
	_, err := DecodeEvent("test.never_registered", []byte(`{}`))
	if !errors.Is(err, ErrUnknownEventType) {
		t.Fatalf("err = %v, want ErrUnknownEventType", err)
	}
}

func TestDecodeEventMalformedJSON(t *testing.T) {
	RegisterEvents(testThingHappened{})
	if _, err := DecodeEvent("test.thing_happened", []byte(`{"n":"x"}`)); err == nil {
		t.Fatal("want error for a wrong field type")
	}
}
