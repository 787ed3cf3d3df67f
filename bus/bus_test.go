package bus_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/bus"
	"github.com/heraldmail/herald/domain"
)

func TestMessageCursorsReadsWhatEventMessageWrote(t *testing.T) {
	e := domain.RecordedEvent{EventID: uuid.New(), StreamID: uuid.New(), StreamType: "client", Type: "client.created",
		Version: 1, Position: 9_007_199_254_740_993, TxID: 18_446_744_073_709_551_000, Data: []byte(`{}`)}
	m, err := bus.EventMessage(e, bus.Cursor{TxID: 77, Position: 41})
	if err != nil {
		t.Fatal(err)
	}
	at, prev, err := bus.MessageCursors(m)
	if err != nil {
		t.Fatal(err)
	}
	if at != (bus.Cursor{TxID: e.TxID, Position: e.Position}) || prev != (bus.Cursor{TxID: 77, Position: 41}) {
		t.Fatalf("cursors %+v, prev %+v", at, prev)
	}
	m.Metadata.Set(bus.MetaTxID, "x")
	if _, _, err := bus.MessageCursors(m); err == nil {
		t.Fatal("a message with a bad tx id was read")
	}
}
