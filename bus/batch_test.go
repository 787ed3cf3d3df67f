package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/bus"
	"github.com/heraldmail/herald/internal/testenv"
)

func batchConfig(t *testing.T) (bus.Config, *redis.Client) {
	t.Helper()
	c := testenv.Redis(t)
	return bus.Config{Client: c, Prefix: testenv.Name("b") + ".", MaxLen: 1000, Logger: testenv.Logger(t, zerolog.WarnLevel)}, c
}

func publish(t *testing.T, cfg bus.Config, topic string, from, to int) {
	t.Helper()
	pub, err := bus.NewPublisher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*message.Message
	for i := from; i < to; i++ {
		msgs = append(msgs, message.NewMessage(fmt.Sprint(i), []byte(fmt.Sprint("payload ", i))))
	}
	if err := pub.Publish(topic, msgs...); err != nil {
		t.Fatal(err)
	}
}

// next returns the next message's id, failing after a few seconds.
func next(t *testing.T, ch <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed")
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5 s")
	}
	return nil
}

// subscribe starts consumer c1 of group g on topic, reading count
// messages at a time.
func subscribe(t *testing.T, cfg bus.Config, topic string, count int64) (message.Subscriber, <-chan *message.Message) {
	t.Helper()
	sub, err := bus.NewBatchSubscriber(cfg, "g", "c1", count)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := sub.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	return sub, ch
}

func pending(t *testing.T, c *redis.Client, topic, group string) int64 {
	t.Helper()
	p, err := c.XPending(context.Background(), topic, group).Result()
	if err != nil {
		t.Fatal(err)
	}
	return p.Count
}

func TestBatchSubscriberDeliversInOrderAndAcknowledges(t *testing.T) {
	t.Parallel()
	cfg, c := batchConfig(t)
	topic := cfg.Topic("events.test")
	publish(t, cfg, topic, 0, 10) // before the group exists: read from the start
	sub, ch := subscribe(t, cfg, topic, 4)
	defer sub.Close()
	for i := 0; i < 25; i++ {
		if i == 10 {
			publish(t, cfg, topic, 10, 25)
		}
		m := next(t, ch)
		if m.UUID != fmt.Sprint(i) || string(m.Payload) != fmt.Sprint("payload ", i) {
			t.Fatalf("message %d: got %s %q", i, m.UUID, m.Payload)
		}
		m.Ack()
	}
	testenv.Eventually(t, 30*time.Second, "no message pending once all were acknowledged", func() bool {
		return pending(t, c, topic, cfg.Prefix+"g") == 0
	})
}

func TestBatchSubscriberRedeliversWhatWasNotAcknowledged(t *testing.T) {
	t.Parallel()
	cfg, _ := batchConfig(t)
	topic := cfg.Topic("events.test")
	publish(t, cfg, topic, 0, 5)
	sub, ch := subscribe(t, cfg, topic, 10)
	next(t, ch).Ack()
	next(t, ch).Ack()
	_ = next(t, ch) // "2" is never acknowledged: the consumer stops
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}

	// One read took "0" to "4"; "0" and "1" were acknowledged on the way
	// out. The same consumer, started again, gets "2" to "4" from its
	// pending list first, then the new ones.
	publish(t, cfg, topic, 5, 7)
	sub2, ch2 := subscribe(t, cfg, topic, 10)
	defer sub2.Close()
	var got []string
	for len(got) == 0 || got[len(got)-1] != "6" {
		m := next(t, ch2)
		got = append(got, m.UUID)
		m.Ack()
	}
	if fmt.Sprint(got) != "[2 3 4 5 6]" {
		t.Fatalf("after a restart got %v, want [2 3 4 5 6]", got)
	}
}

func TestBatchSubscriberNackDeliversAgain(t *testing.T) {
	t.Parallel()
	cfg, _ := batchConfig(t)
	topic := cfg.Topic("events.test")
	publish(t, cfg, topic, 0, 2)
	sub, ch := subscribe(t, cfg, topic, 10)
	defer sub.Close()
	first := next(t, ch)
	first.Nack()
	again := next(t, ch)
	if again.UUID != "0" {
		t.Fatalf("after a Nack got %s, want 0 again", again.UUID)
	}
	again.Ack()
	if m := next(t, ch); m.UUID != "1" {
		t.Fatalf("got %s, want 1", m.UUID)
	}
}

func TestBatchSubscriberRecreatesALostGroup(t *testing.T) {
	t.Parallel()
	cfg, c := batchConfig(t)
	topic := cfg.Topic("events.test")
	publish(t, cfg, topic, 0, 1)
	sub, ch := subscribe(t, cfg, topic, 10)
	defer sub.Close()
	next(t, ch).Ack()
	// Redis lost its data (restarted without persistence): stream and group
	// are gone. The subscriber makes the group again and goes on.
	if err := c.Del(context.Background(), topic).Err(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "a delivery after the group was lost", func() bool {
		publish(t, cfg, topic, 1, 2) // until one arrives
		select {
		case m := <-ch:
			if m.UUID != "1" {
				t.Fatalf("got %s, want 1", m.UUID)
			}
			m.Ack()
			return true
		case <-time.After(300 * time.Millisecond):
			return false
		}
	})
}
