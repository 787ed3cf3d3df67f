package eventstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
)

// Many writers append at once while a reader follows ReadAll, as the relay
// does: the reader gets every appended event exactly once, its cursor only
// moves forward, each stream's events come in version order, and reading
// everything again afterwards gives the same order.
func TestReadAllOrderWithConcurrentWriters(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	const writers, appends = 8, 40
	// Writers stop before the store's pool closes, should the reader fail.
	ctx, cancel := context.WithCancel(context.Background())

	var (
		mu       sync.Mutex
		appended = map[uuid.UUID]bool{}
		wg       sync.WaitGroup
		writing  = make(chan struct{})
	)
	for w := range writers {
		wg.Go(func() {
			streams := []domain.Stream{stream(), stream()}
			for i := range appends {
				// One to three events an append, on one of two streams of
				// this writer, so transactions of several rows interleave.
				evs := make([]domain.NewEvent, 1+(w+i)%3)
				for j := range evs {
					evs[j] = note(fmt.Sprintf("w%d a%d e%d", w, i, j))
				}
				if _, err := s.Append(ctx, streams[i%2], eventstore.Any, evs...); err != nil {
					if ctx.Err() == nil {
						t.Error(err)
					}
					return
				}
				mu.Lock()
				for _, e := range evs {
					appended[e.ID] = true
				}
				mu.Unlock()
			}
		})
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	go func() { wg.Wait(); close(writing) }()

	var (
		cur   eventstore.Cursor
		order []domain.RecordedEvent
	)
	follow := func() {
		evs, err := s.ReadAll(ctx, cur, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if !cur.Less(eventstore.CursorOf(e)) {
				t.Fatalf("the reader went back: event at %+v after %+v", eventstore.CursorOf(e), cur)
			}
			cur = eventstore.CursorOf(e)
			order = append(order, e)
		}
	}
	for done := false; !done; {
		select {
		case <-writing:
			done = true
		default:
			follow()
		}
	}
	mu.Lock()
	total := len(appended)
	mu.Unlock()
	testenv.Eventually(t, 30*time.Second, fmt.Sprintf("the reader to read all %d events", total), func() bool {
		follow()
		return len(order) >= total
	})

	seen := map[uuid.UUID]int{}
	version := map[uuid.UUID]int64{}
	for _, e := range order {
		seen[e.EventID]++
		if !appended[e.EventID] {
			t.Fatalf("read event %s that nobody appended", e.EventID)
		}
		if e.Version != version[e.StreamID]+1 {
			t.Fatalf("stream %s: version %d read after %d", e.StreamID, e.Version, version[e.StreamID])
		}
		version[e.StreamID] = e.Version
	}
	for id := range appended {
		if seen[id] != 1 {
			t.Fatalf("event %s read %d times, want once", id, seen[id])
		}
	}
	if len(order) != total {
		t.Fatalf("read %d events, %d appended", len(order), total)
	}

	var again []domain.RecordedEvent
	testenv.Eventually(t, 30*time.Second, "everything to be read again", func() bool {
		again = again[:0]
		for from := (eventstore.Cursor{}); ; {
			evs, err := s.ReadAll(ctx, from, 250)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) == 0 {
				return len(again) >= len(order)
			}
			again = append(again, evs...)
			from = eventstore.CursorOf(evs[len(evs)-1])
		}
	})
	if len(again) != len(order) {
		t.Fatalf("read again: %d events, the follower read %d", len(again), len(order))
	}
	for i := range again {
		if again[i].EventID != order[i].EventID {
			t.Fatalf("read again: event %d is %s, the follower read %s", i, again[i].EventID, order[i].EventID)
		}
	}
}

// ReadAllFromWithoutMetadata reads what ReadAllFrom reads, in the same
// order, with each event's Metadata left zero.
func TestReadAllWithoutMetadataLeavesOnlyTheMetadataOut(t *testing.T) {
	t.Parallel()
	s, ctx := newStore(t), context.Background()
	for i := range 3 {
		if _, err := s.Append(ctx, stream(), eventstore.NoStream, note(fmt.Sprintf("n%d", i)), note("again")); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 30*time.Second, "the events below the read bound", func() bool {
		evs, err := eventstore.ReadAllFrom(ctx, s.Pool(), eventstore.Cursor{}, 100, false)
		return err == nil && len(evs) == 6
	})
	full, err := eventstore.ReadAllFrom(ctx, s.Pool(), eventstore.Cursor{}, 100, false)
	if err != nil {
		t.Fatal(err)
	}
	bare, err := eventstore.ReadAllFromWithoutMetadata(ctx, s.Pool(), eventstore.Cursor{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(bare) != len(full) {
		t.Fatalf("%d events without metadata, %d with", len(bare), len(full))
	}
	for i, e := range full {
		if e.Metadata.ActorID == uuid.Nil || e.Metadata.Command != "TakeNote" {
			t.Fatalf("ReadAllFrom lost the metadata: %+v", e.Metadata)
		}
		b := bare[i]
		if b.Metadata != (domain.Metadata{}) {
			t.Fatalf("event %d read with metadata %+v", b.Position, b.Metadata)
		}
		b.Metadata = e.Metadata
		if b.Position != e.Position || b.TxID != e.TxID || b.EventID != e.EventID || b.StreamID != e.StreamID ||
			b.Version != e.Version || b.Type != e.Type || string(b.Data) != string(e.Data) || !b.RecordedAt.Equal(e.RecordedAt) {
			t.Fatalf("event %d read as %+v without metadata, %+v with", e.Position, bare[i], e)
		}
	}
}
