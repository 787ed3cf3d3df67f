package bus_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/redis/go-redis/v9"
)

// The publisher caps every stream at MaxLen (BUS_MAXLEN) as it adds to it.
// The cap is approximate: Redis trims whole nodes of a stream, so a stream
// keeps at least MaxLen and fewer than MaxLen plus one node of messages,
// always the newest.
func TestPublisherTrimsStreamsToMaxLen(t *testing.T) {
	t.Parallel()
	cfg, c := batchConfig(t)
	ctx := context.Background()
	node := streamNodeEntries(t, c)
	for _, tt := range []struct {
		name             string
		maxLen           int64
		minKept, maxKept int64
	}{
		{"capped", 100, 100, 100 + node},
		{"unset keeps up to a million", 0, 1000, 1000},
	} {
		cfg.MaxLen = tt.maxLen
		topic := cfg.Topic("events.trim." + fmt.Sprint(tt.maxLen))
		for i := range 20 {
			publish(t, cfg, topic, i*50, (i+1)*50) // 1,000 messages, 20 calls
		}
		kept, err := c.XLen(ctx, topic).Result()
		if err != nil {
			t.Fatal(err)
		}
		if kept < tt.minKept || kept > tt.maxKept {
			t.Errorf("%s: the stream holds %d messages, want %d to %d", tt.name, kept, tt.minKept, tt.maxKept)
			continue
		}
		// The newest are kept: the last published, and the kept ones
		// before it without a gap.
		first := messageID(t, c.XRangeN(ctx, topic, "-", "+", 1))
		last := messageID(t, c.XRevRangeN(ctx, topic, "+", "-", 1))
		if last != 999 || first != 1000-kept {
			t.Errorf("%s: the stream holds messages %d to %d, want %d to 999", tt.name, first, last, 1000-kept)
		}
	}
}

// streamNodeEntries is how many messages one node of a Redis stream holds:
// what an approximate trim may leave above the cap.
func streamNodeEntries(t *testing.T, c *redis.Client) int64 {
	t.Helper()
	v, err := c.ConfigGet(context.Background(), "stream-node-max-entries").Result()
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(v["stream-node-max-entries"], 10, 64)
	if err != nil || n <= 0 {
		t.Fatalf("stream-node-max-entries %q: %v", v["stream-node-max-entries"], err)
	}
	return n
}

// messageID is the number publish gave the one message cmd read.
func messageID(t *testing.T, cmd *redis.XMessageSliceCmd) int64 {
	t.Helper()
	msgs, err := cmd.Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("read %d messages: %v", len(msgs), err)
	}
	n, err := strconv.ParseInt(fmt.Sprint(msgs[0].Values[redisstream.UUIDHeaderKey]), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
