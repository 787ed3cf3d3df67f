package bus_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/bus"
	"github.com/heraldmail/herald/domain"
)

func TestMessageCursorReadsWhatEventMessageWrote(t *testing.T) {
	e := domain.RecordedEvent{EventID: uuid.New(), StreamID: uuid.New(), StreamType: "client", Type: "client.created",
		Version: 1, Position: 9_007_199_254_740_993, TxID: 18_446_744_073_709_551_000, Data: []byte(`{"email":"ann@example.test"}`)}
	m := bus.EventMessage(e)
	at, err := bus.MessageCursor(m)
	if err != nil {
		t.Fatal(err)
	}
	if at != (bus.Cursor{TxID: e.TxID, Position: e.Position}) || m.UUID != e.EventID.String() || m.Metadata.Get(bus.MetaEventType) != e.Type {
		t.Fatalf("message %s %v read as %+v", m.UUID, m.Metadata, at)
	}
	if len(m.Payload) != 0 {
		t.Fatalf("the message carries a payload of %d bytes; consumers read events from the store", len(m.Payload))
	}
	m.Metadata.Set(bus.MetaTxID, "x")
	if _, err := bus.MessageCursor(m); err == nil {
		t.Fatal("a message with a bad tx id was read")
	}
}
