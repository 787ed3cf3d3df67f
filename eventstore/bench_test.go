package eventstore_test

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/testenv"
)

// Each load runs in short rounds, interleaved with the others, and the
// medians are reported: the machine is shared, so a load measured alone can
// land in a busy or a quiet minute; interleaving exposes every load to the
// same noise and the ratio of medians is what is compared.
const (
	benchRounds = 7
	benchRound  = 1500 * time.Millisecond
)

// hammer runs fn from writers goroutines for d and returns calls per second.
func hammer(b *testing.B, writers int, d time.Duration, fn func(ctx context.Context) error) float64 {
	b.Helper()
	ctx := context.Background()
	var done atomic.Int64
	var failed atomic.Value
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := fn(ctx); err != nil {
					failed.Store(err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return float64(done.Load()) / time.Since(start).Seconds()
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// BenchmarkAppend measures, in one run against one database: the raw rate of
// single-row INSERT transactions (the physical limit), single-event appends
// with 8 concurrent writers, and batched appends of 100 events.
// Targets: single ≥ 70% of raw; batched ≥ 40,000 events/s.
func BenchmarkAppend(b *testing.B) {
	pool := testenv.Pool(b)
	store, err := eventstore.New(pool)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE bench_raw (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream_id uuid, data jsonb)`); err != nil {
		b.Fatal(err)
	}
	payload := noteTaken{Text: "a note of a realistic size: subject line and a few fields"}
	meta := domain.Metadata{ActorID: uuid.New(), CorrelationID: uuid.New(), Command: "Bench"}
	rawInsert := func(ctx context.Context) error {
		_, err := pool.Exec(ctx, `INSERT INTO bench_raw (stream_id, data) VALUES ($1, $2)`, uuid.New(), `{"text":"a note of a realistic size: subject line and a few fields"}`)
		return err
	}
	singleAppend := func(ctx context.Context) error {
		_, err := store.Append(ctx, domain.Stream{Type: "note", ID: uuid.New()}, eventstore.NoStream,
			domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: payload, Metadata: meta})
		return err
	}
	batchAppend := func(ctx context.Context) error {
		evs := make([]domain.NewEvent, 100)
		for j := range evs {
			evs[j] = domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: payload, Metadata: meta}
		}
		_, err := store.Append(ctx, domain.Stream{Type: "note", ID: uuid.New()}, eventstore.NoStream, evs...)
		return err
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var raw, single, ratio, batched []float64
		for r := 0; r < benchRounds; r++ {
			rr := hammer(b, 8, benchRound, rawInsert)
			sr := hammer(b, 8, benchRound, singleAppend)
			br := hammer(b, 8, benchRound, batchAppend) * 100
			raw, single, batched = append(raw, rr), append(single, sr), append(batched, br)
			ratio = append(ratio, sr/rr*100)
		}
		b.ReportMetric(median(raw), "raw_inserts/s")
		b.ReportMetric(median(single), "single_appends/s")
		b.ReportMetric(median(ratio), "single_%_of_raw")
		b.ReportMetric(median(batched), "batched_events/s")
		b.Logf("medians of %d interleaved rounds, 8 writers: raw INSERT tx/s %.0f; single-event appends/s %.0f; single/raw %.0f%% (target ≥ 70%%); batched events/s %.0f (target ≥ 40,000)",
			benchRounds, median(raw), median(single), median(ratio), median(batched))
	}
}
