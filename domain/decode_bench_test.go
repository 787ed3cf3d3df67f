package domain_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
)

// BenchmarkDecodeEvent reads a stored client.created and a batch of ten
// attempts with DecodeEvent and, for comparison, with encoding/json: every
// projector decodes each event it applies.
func BenchmarkDecodeEvent(b *testing.B) {
	attempts := make([]domain.AttemptOutcome, 10)
	for i := range attempts {
		attempts[i] = domain.AttemptOutcome{ClientID: uuid.New(), Email: fmt.Sprintf("client%d@example.test", i), Success: true,
			ServerResponse: "250 2.0.0 Ok: queued as 4XyzAbC", AttemptedAt: time.Now(), Attempt: 1}
	}
	for _, ev := range []domain.Event{
		domain.ClientCreated{ClientID: uuid.New(), OwnerID: uuid.New(), Email: "ann.example@example.test", FullName: "Ann Example", Comment: "met at the fair"},
		domain.DeliveriesAttempted{MailingID: uuid.New(), Attempts: attempts},
	} {
		data, err := json.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(ev.EventType()+"/DecodeEvent", func(b *testing.B) {
			for b.Loop() {
				if _, err := domain.DecodeEvent(ev.EventType(), data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(ev.EventType()+"/encoding-json", func(b *testing.B) {
			for b.Loop() {
				if err := json.Unmarshal(data, reflect.New(reflect.TypeOf(ev)).Interface()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
