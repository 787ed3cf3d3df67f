package history_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/history"
	"github.com/heraldmail/herald/internal/testenv"
)

// A run recorded partly one attempt per event and partly in batches pages
// through its deliveries in store order, every attempt exactly once and
// under the id the attempts list gives it, whatever the page size, with
// pages that end inside a batch.
func TestDeliveriesPageThroughBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := eventstore.New(testenv.Pool(t))
	if err != nil {
		t.Fatal(err)
	}
	reader, err := history.NewReader(store)
	if err != nil {
		t.Fatal(err)
	}
	owner, mailing, run := uuid.New(), uuid.New(), uuid.New()
	now := time.Now().UTC().Truncate(time.Second)
	commit := func(stream domain.Stream, evs ...domain.Event) []uuid.UUID {
		t.Helper()
		ids := make([]uuid.UUID, len(evs))
		news := make([]domain.NewEvent, len(evs))
		for i, e := range evs {
			ids[i] = uuid.Must(uuid.NewV7())
			news[i] = domain.NewEvent{ID: ids[i], Event: e, Metadata: domain.Metadata{CorrelationID: run}}
		}
		_, err := store.Commit(ctx, eventstore.Commit{Appends: []eventstore.StreamAppend{{
			Stream: stream, Expected: eventstore.Any, Events: news}}})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	commit(domain.Stream{Type: domain.MailingStreamType, ID: mailing},
		domain.MailingCreated{MailingID: mailing, OwnerID: owner, MessageID: uuid.New(), AllClients: true,
			StartAt: now, EndAt: now.Add(time.Hour), Periodicity: domain.Periodicity("once"), IsActive: true},
		domain.MailingStarted{RunID: run, At: now})

	n := 0
	attempt := func() domain.DeliveryAttempted {
		n++
		return domain.DeliveryAttempted{MailingID: mailing, ClientID: uuid.New(), Email: fmt.Sprintf("c%d@example.org", n),
			Success: n%3 != 0, ServerResponse: fmt.Sprintf("250 queued as %d", n), AttemptedAt: now, Attempt: 1}
	}
	batch := func(k int) domain.DeliveriesAttempted {
		as := make([]domain.DeliveryAttempted, k)
		for i := range as {
			as[i] = attempt()
		}
		return domain.BatchAttempts(as)
	}
	type want struct {
		id    uuid.UUID
		email string
	}
	var wants []want
	runStream := domain.Stream{Type: domain.RunStreamType, ID: run}
	for _, e := range []domain.Event{attempt(), batch(5), attempt(), batch(3), batch(1)} {
		id := commit(runStream, e)[0]
		for _, a := range domain.AttemptsOf(id, e) {
			wants = append(wants, want{a.ID, a.Email})
		}
	}
	if len(wants) != 11 {
		t.Fatalf("%d attempts recorded, want 11", len(wants))
	}

	for limit := 1; limit <= len(wants)+1; limit++ {
		var got []want
		cursor, pages := "", 0
		for {
			pages++
			d, err := reader.Mailing(ctx, mailing, history.Options{Deliveries: true, Limit: limit, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			if pages > len(wants)+1 || len(d.Deliveries.Items) > limit {
				t.Fatalf("limit %d: page %d holds %d items", limit, pages, len(d.Deliveries.Items))
			}
			for _, e := range d.Deliveries.Items {
				var data domain.DeliveryAttempted
				if err := json.Unmarshal(e.Data, &data); err != nil {
					t.Fatal(err)
				}
				if e.Type != "run.delivery_attempted" || e.RunID == nil || *e.RunID != run || e.AttemptID == nil ||
					data.MailingID != mailing || data.ServerResponse == "" {
					t.Fatalf("limit %d: item %+v (%s)", limit, e, e.Data)
				}
				got = append(got, want{*e.AttemptID, data.Email})
			}
			if d.Deliveries.NextCursor == nil {
				break
			}
			cursor = *d.Deliveries.NextCursor
		}
		if fmt.Sprint(got) != fmt.Sprint(wants) {
			t.Fatalf("limit %d: pages gave\n%v\nwant\n%v", limit, got, wants)
		}
		if wantPages := max(1, (len(wants)+limit-1)/limit); pages != wantPages {
			t.Fatalf("limit %d: %d pages, want %d", limit, pages, wantPages)
		}
	}

	for _, bad := range []string{"x", "-1", "12.x", "12.-1", "."} {
		if _, err := reader.Mailing(ctx, mailing, history.Options{Deliveries: true, Cursor: bad}); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}
