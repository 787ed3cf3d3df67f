package bus_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/heraldmail/herald/bus"
)

// TrimConsumed keeps, per stream, what the slowest consumer group has not
// passed (its oldest unacknowledged entry, else the last it was given);
// a stream nobody reads yet, and another deployment's streams, are left
// alone.
func TestTrimConsumedKeepsWhatGroupsStillNeed(t *testing.T) {
	t.Parallel()
	cfg, c := batchConfig(t)
	ctx := context.Background()
	read := cfg.Topic("events.read")
	unread := cfg.Topic("commands.unread")
	other, _ := batchConfig(t) // another deployment on the same Redis
	foreign := other.Topic("events.read")
	for _, topic := range []string{read, unread, foreign} {
		publish(t, cfg, topic, 0, 100)
	}
	for _, g := range []string{"fast", "slow"} {
		for _, topic := range []string{read, foreign} {
			if err := c.XGroupCreate(ctx, topic, g, "0").Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	take := func(group string, n int64, ack bool) {
		t.Helper()
		res, err := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "c", Streams: []string{read, ">"}, Count: n}).Result()
		if err != nil || len(res) != 1 || int64(len(res[0].Messages)) != n {
			t.Fatalf("%s read %v: %v", group, res, err)
		}
		if ack {
			for _, m := range res[0].Messages {
				if err := c.XAck(ctx, read, group, m.ID).Err(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	trim := func(wantRemoved, wantFirst, wantLen int64) {
		t.Helper()
		removed, err := bus.TrimConsumed(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if n := c.XLen(ctx, read).Val(); removed != wantRemoved || n != wantLen {
			t.Fatalf("removed %d, %d left; want %d removed, %d left", removed, n, wantRemoved, wantLen)
		}
		if wantLen > 0 {
			if first := messageID(t, c.XRangeN(ctx, read, "-", "+", 1)); first != wantFirst {
				t.Fatalf("the stream starts at message %d, want %d", first, wantFirst)
			}
		}
		for _, topic := range []string{unread, foreign} {
			if n := c.XLen(ctx, topic).Val(); n != 100 {
				t.Fatalf("%s holds %d messages, want all 100", topic, n)
			}
		}
	}

	trim(0, 0, 100) // no group has read anything
	take("fast", 100, true)
	take("slow", 60, true)
	trim(59, 59, 41) // the slow group was last given message 59
	take("slow", 20, false)
	trim(1, 60, 40) // messages 60 to 79 are pending: 60 is kept
	if err := c.XAck(ctx, read, "slow", c.XRangeN(ctx, read, "-", "+", 20).Val()[0].ID).Err(); err != nil {
		t.Fatal(err)
	}
	trim(1, 61, 39) // 60 acknowledged, 61 now the oldest pending
}
