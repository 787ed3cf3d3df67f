package mail

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// SharedLimiter is a Limiter every sender process of an instance shares
// through Redis, so N senders against one relay stay within one rate
// together, not N times it. It is GCRA (the generic cell rate algorithm)
// with a burst of one: Redis keeps the next free slot's time under one key,
// and each Wait takes the next slot in one atomic script, then sleeps until
// it. Time is Redis's own clock, so the senders' clocks need not agree.
type SharedLimiter struct {
	rdb      redis.Scripter
	key      string
	perSec   float64
	interval time.Duration
}

// reserveScript takes the bucket's next slot: it returns the slot's time
// (microseconds of Redis's clock) and how long the caller waits for it.
// The slot time is kept as a decimal string, since tostring would round a
// microsecond timestamp.
var reserveScript = redis.NewScript(`
local interval = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = tonumber(redis.call('GET', KEYS[1]))
if not slot or slot < now then slot = now end
local nextSlot = slot + interval
redis.call('SET', KEYS[1], string.format('%.0f', nextSlot), 'PX', math.floor((nextSlot - now) / 1000) + 1000)
return {slot, slot - now}
`)

// NewSharedLimiter returns a limiter of perSecond messages a second for
// everyone using key on rdb (the sender builds the key from
// BUS_TOPIC_PREFIX, which names an instance).
func NewSharedLimiter(rdb redis.Scripter, key string, perSecond float64) (*SharedLimiter, error) {
	if rdb == nil {
		return nil, errors.New("mail: shared limiter needs a Redis client")
	}
	if key == "" {
		return nil, errors.New("mail: shared limiter needs a key")
	}
	if !(perSecond > 0) {
		return nil, fmt.Errorf("SEND_RATE: a shared limiter needs a positive rate, got %v", perSecond)
	}
	// Rounded up to the microsecond Redis counts in, so rounding never
	// makes the rate faster.
	interval := time.Duration(math.Ceil(1e6/perSecond)) * time.Microsecond
	if interval < time.Microsecond {
		interval = time.Microsecond
	}
	return &SharedLimiter{rdb: rdb, key: key, perSec: perSecond, interval: interval}, nil
}

// Rate is the limiter's messages per second.
func (l *SharedLimiter) Rate() float64 { return l.perSec }

// Wait takes the next slot and sleeps until it. A slot taken and then
// abandoned (ctx ends first) is lost: the senders go slower, never faster.
func (l *SharedLimiter) Wait(ctx context.Context) error {
	_, wait, err := l.Reserve(ctx)
	if err != nil {
		return err
	}
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Reserve takes the next slot without waiting: its time on Redis's clock
// and how long until then. Tests read the slots to check the rate.
func (l *SharedLimiter) Reserve(ctx context.Context) (slot time.Time, wait time.Duration, err error) {
	res, err := reserveScript.Run(ctx, l.rdb, []string{l.key}, l.interval.Microseconds()).Int64Slice()
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("send rate: %w", err)
	}
	if len(res) != 2 {
		return time.Time{}, 0, fmt.Errorf("send rate: unexpected reply %v", res)
	}
	return time.UnixMicro(res[0]), time.Duration(res[1]) * time.Microsecond, nil
}
