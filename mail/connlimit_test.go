package mail_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

func newSharedConnections(t testing.TB, key string, limit int, ttl time.Duration) *mail.SharedConnections {
	t.Helper()
	// A Redis client of its own, as another process would have.
	s, err := mail.NewSharedConnections(testenv.Redis(t), key, limit, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sendAll sends n messages through c at once, each in its own goroutine,
// with Message-IDs tag0@h…, and fails t unless every one is delivered (it
// may run on a goroutine of its own).
func sendAll(t *testing.T, c *mail.Client, tag string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	results := make(chan mail.Result, n)
	for i := range n {
		wg.Go(func() {
			results <- c.Send(ctx(t), mail.Message{To: fmt.Sprintf("%s%d@example.org", tag, i), Subject: "s", TextBody: "b", MessageID: fmt.Sprintf("%s%d@h", tag, i)})
		})
	}
	wg.Wait()
	close(results)
	for r := range results {
		if !r.OK() {
			t.Errorf("%s: %+v", tag, r)
			return
		}
	}
}

// TestSharedConnectionsHoldTwoClientsToOneCap runs two Clients with a
// SharedConnections each on their own Redis connections, as two sender
// processes would, both sending at once with more sends in flight than the
// cap. The sink counts the sessions open at once on its side.
func TestSharedConnectionsHoldTwoClientsToOneCap(t *testing.T) {
	t.Parallel()
	const limit, conc, n = 3, 6, 80
	key := testenv.Name("herald-test-conns-")
	sink := startSink(t, mail.SinkConfig{})
	var clients []*mail.Client
	for range 2 {
		s := newSharedConnections(t, key, limit, 600*time.Millisecond)
		clients = append(clients, newClient(t, mail.Config{Endpoint: sink.Endpoint(), Concurrency: conc, Connections: s}))
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() { sendAll(t, c, fmt.Sprintf("c%d-", i), n) })
	}
	wg.Wait()

	total := 2 * n
	msgs, err := sink.WaitFor(ctx(t), total)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.MessageID]++
	}
	if len(msgs) != total || len(seen) != total {
		t.Errorf("stored %d messages with %d Message-IDs, want %d of each", len(msgs), len(seen), total)
	}
	if got := sink.MaxOpen(); got > limit {
		t.Errorf("the sink saw %d connections open at once, the cap is %d", got, limit)
	}
	if held, err := newSharedConnections(t, key, limit, 0).Held(ctx(t)); err != nil || held > limit {
		t.Errorf("%d leases held (%v), the cap is %d", held, err, limit)
	}
}

// A Client whose connections sit idle gives their places up to another
// that waits for one: with a cap of one, each of two Clients in turn sends
// a few messages, and each turn takes the place over from the other.
func TestIdlePlacesMoveToAWaitingClient(t *testing.T) {
	t.Parallel()
	key := testenv.Name("herald-test-conns-")
	sink := startSink(t, mail.SinkConfig{})
	var clients []*mail.Client
	for range 2 {
		s := newSharedConnections(t, key, 1, 600*time.Millisecond)
		clients = append(clients, newClient(t, mail.Config{Endpoint: sink.Endpoint(), Concurrency: 4, Connections: s}))
	}
	for i, turn := range []int{0, 1, 0} {
		sendAll(t, clients[turn], fmt.Sprintf("turn%d-", i), 5)
	}
	if _, err := sink.WaitFor(ctx(t), 15); err != nil {
		t.Fatal(err)
	}
	if got := sink.MaxOpen(); got != 1 {
		t.Errorf("the sink saw %d connections open at once, the cap is 1", got)
	}
	// One dial a turn: the place moved, and each client kept its
	// connection for its whole turn.
	if got := sink.Connections(); got != 3 {
		t.Errorf("the sink saw %d connections in all, want 3", got)
	}
}

// A lease no one renews (its process was killed) expires, and its place
// is taken; a renewed one keeps its place past its TTL.
func TestLeaseOfAVanishedProcessIsReclaimed(t *testing.T) {
	t.Parallel()
	key := testenv.Name("herald-test-conns-")
	gone, other := newSharedConnections(t, key, 1, 300*time.Millisecond), newSharedConnections(t, key, 1, 300*time.Millisecond)
	l, err := gone.TryAcquire(ctx(t))
	if err != nil || l == nil {
		t.Fatalf("lease %v, %v", l, err)
	}
	l.Abandon()
	var taken *mail.ConnLease
	testenv.Eventually(t, 10*time.Second, "the abandoned lease to expire and its place to be taken", func() bool {
		taken, err = other.TryAcquire(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		return taken != nil
	})
	if err := taken.Close(); err != nil {
		t.Fatal(err)
	}

	key = testenv.Name("herald-test-conns-")
	const ttl = 1500 * time.Millisecond
	holder, other := newSharedConnections(t, key, 1, ttl), newSharedConnections(t, key, 1, ttl)
	l, err = holder.TryAcquire(ctx(t))
	if err != nil || l == nil {
		t.Fatalf("lease %v, %v", l, err)
	}
	defer l.Close()
	rdb := testenv.Redis(t)
	expiry := func() float64 {
		s, err := rdb.ZScore(ctx(t), key, l.ID()).Result()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := expiry()
	testenv.Eventually(t, 10*time.Second, "the lease to be renewed twice", func() bool {
		return expiry() >= first+float64((2*ttl/3).Milliseconds())
	})
	if got, err := other.TryAcquire(ctx(t)); err != nil || got != nil {
		t.Fatalf("another took the place of a renewed lease: %v, %v", got, err)
	}
}

// A lease whose place was taken while it was not renewed (Redis was
// unreachable for longer than its TTL) is lost; the Client closes the
// connection that held it, and takes a place again once there is one.
func TestClientClosesTheConnectionOfALostLease(t *testing.T) {
	t.Parallel()
	key := testenv.Name("herald-test-conns-")
	sink := startSink(t, mail.SinkConfig{})
	c := newClient(t, mail.Config{Endpoint: sink.Endpoint(), Concurrency: 2,
		Connections: newSharedConnections(t, key, 1, 300*time.Millisecond)})
	sendAll(t, c, "before-", 1)
	rdb := testenv.Redis(t)
	ids, err := rdb.ZRange(ctx(t), key, 0, -1).Result()
	if err != nil || len(ids) != 1 {
		t.Fatalf("leases %v (%v), want the client's one", ids, err)
	}
	// In one step, or a renewal could come between: the client's lease
	// expired, and another process holds the place for a long while.
	if _, err := rdb.TxPipelined(ctx(t), func(p redis.Pipeliner) error {
		p.ZRem(ctx(t), key, ids[0])
		p.ZAdd(ctx(t), key, redis.Z{Score: float64(time.Now().Add(time.Hour).UnixMilli()), Member: "other"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the connection of the lost lease to close", func() bool { return sink.Open() == 0 })
	if err := rdb.ZRem(ctx(t), key, "other").Err(); err != nil {
		t.Fatal(err)
	}
	sendAll(t, c, "after-", 3)
	if got := sink.MaxOpen(); got != 1 {
		t.Errorf("%d connections open at once, the cap is 1", got)
	}
}

// Close gives the place back, and a second Close does nothing, for a lease
// and for a Client (which gives back the leases of its connections).
func TestCloseIsIdempotent(t *testing.T) {
	t.Parallel()
	key := testenv.Name("herald-test-conns-")
	s := newSharedConnections(t, key, 2, 0)
	held := func() int {
		n, err := s.Held(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	l, err := s.TryAcquire(ctx(t))
	if err != nil || l == nil {
		t.Fatalf("lease %v, %v", l, err)
	}
	if held() != 1 {
		t.Fatalf("%d leases held, want 1", held())
	}
	for range 2 {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if held() != 0 {
		t.Fatalf("%d leases held after Close, want 0", held())
	}

	sink := startSink(t, mail.SinkConfig{})
	c := newClient(t, mail.Config{Endpoint: sink.Endpoint(), Concurrency: 4, Connections: s})
	sendAll(t, c, "m", 8)
	if n := held(); n < 1 || n > 2 {
		t.Fatalf("%d leases held by the client, want 1 or 2", n)
	}
	for range 2 {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if held() != 0 {
		t.Fatalf("%d leases held after the client's Close, want 0", held())
	}
	if r := c.Send(ctx(t), mail.Message{To: "a@example.org", Subject: "s", TextBody: "b"}); r.Err != mail.ErrClosed {
		t.Fatalf("send after Close: %+v", r)
	}
}

// A shared cap is a positive number of connections: no cap (SEND_CONNECTIONS
// 0) is a Client without one, which opens up to Concurrency.
func TestNoSharedCapIsUnlimited(t *testing.T) {
	t.Parallel()
	if _, err := mail.NewSharedConnections(testenv.Redis(t), testenv.Name("herald-test-conns-"), 0, 0); err == nil {
		t.Fatal("a cap of 0 connections was accepted")
	}
	sink := startSink(t, mail.SinkConfig{})
	c := newClient(t, mail.Config{Endpoint: sink.Endpoint(), Concurrency: 4})
	// Four sends held at the server at once need four connections.
	release := make(chan struct{})
	var arrived sync.WaitGroup
	arrived.Add(4)
	sink.SetReply(func(from, to string, attempt int) *mail.Reply {
		arrived.Done()
		<-release
		return nil
	})
	done, all := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		sendAll(t, c, "u", 4)
	}()
	go func() {
		arrived.Wait()
		close(all)
	}()
	select {
	case <-all:
	case <-ctx(t).Done():
		t.Error("the four sends never reached the server at once")
	}
	close(release)
	<-done
	if got := sink.MaxOpen(); got != 4 {
		t.Errorf("%d connections open at once, want 4", got)
	}
}
