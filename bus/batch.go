package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// NewBatchSubscriber returns a consumer-group subscriber that reads up to
// count messages per XREADGROUP and acknowledges a read's messages with one
// XACK once the consumer acknowledged each of them.
//
// watermill-redisstream's subscriber reads one message per XREADGROUP and
// acknowledges it with its own XACK: two round trips to Redis per message,
// a large share of a busy projector's CPU. This subscriber speaks the same stream format (the same marshaller)
// and the same consumer-group model, without claiming: it is for a group
// with one consumer (a projector, elected by an advisory lock), which takes
// back its own unacknowledged messages when it starts again and needs no
// peer's. Messages are delivered in stream order, one at a time; a Nack
// delivers the message again after a pause.
func NewBatchSubscriber(c Config, group, consumer string, count int64) (message.Subscriber, error) {
	if c.Client == nil {
		return nil, errors.New("bus: nil redis client")
	}
	if group == "" || consumer == "" {
		return nil, errors.New("bus: subscriber needs a group and a consumer name")
	}
	if count <= 0 {
		count = 256
	}
	return &batchSubscriber{client: c.Client, group: c.Prefix + group, consumer: consumer, count: count,
		block: time.Second, nackSleep: 500 * time.Millisecond,
		log:     c.Logger.With().Str("component", "bus").Str("group", c.Prefix+group).Logger(),
		closing: make(chan struct{})}, nil
}

type batchSubscriber struct {
	client          redis.UniversalClient
	group, consumer string
	count           int64
	block           time.Duration
	nackSleep       time.Duration
	log             zerolog.Logger
	marshaller      redisstream.DefaultMarshallerUnmarshaller

	closeOnce sync.Once
	closing   chan struct{}
	wg        sync.WaitGroup
}

// Subscribe creates the group if it is missing (reading the stream from its
// start, as the watermill subscriber does) and delivers its messages until
// ctx ends or the subscriber is closed.
func (s *batchSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	select {
	case <-s.closing:
		return nil, errors.New("bus: subscriber closed")
	default:
	}
	if err := s.createGroup(ctx, topic); err != nil {
		return nil, err
	}
	out := make(chan *message.Message)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		s.consume(ctx, topic, out)
	}()
	return out, nil
}

func (s *batchSubscriber) createGroup(ctx context.Context, topic string) error {
	err := s.client.XGroupCreateMkStream(ctx, topic, s.group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("bus: create group %s on %s: %w", s.group, topic, err)
	}
	return nil
}

func (s *batchSubscriber) done(ctx context.Context) bool {
	select {
	case <-s.closing:
		return true
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

func (s *batchSubscriber) pause(ctx context.Context, d time.Duration) {
	select {
	case <-s.closing:
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func (s *batchSubscriber) consume(ctx context.Context, topic string, out chan<- *message.Message) {
	// "0" reads this consumer's own pending messages (read before a crash,
	// never acknowledged); once none are left, ">" reads new ones.
	from := "0"
	backoff := time.Duration(0)
	for !s.done(ctx) {
		res, err := s.client.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: s.group, Consumer: s.consumer, Streams: []string{topic, from}, Count: s.count, Block: s.block,
		}).Result()
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case err != nil && s.done(ctx):
			return
		case err != nil:
			// A Redis that lost its data has no group any more: make it
			// again. Anything else is retried after a pause.
			if strings.HasPrefix(err.Error(), "NOGROUP") {
				if cerr := s.createGroup(ctx, topic); cerr == nil {
					from = "0"
					continue
				}
			}
			backoff = min(max(2*backoff, 100*time.Millisecond), 2*time.Second)
			s.log.Warn().Err(err).Str("topic", topic).Dur("retry_in", backoff).Msg("bus: read failed")
			s.pause(ctx, backoff)
			continue
		}
		backoff = 0
		var msgs []redis.XMessage
		if len(res) > 0 {
			msgs = res[0].Messages
		}
		if from != ">" && len(msgs) == 0 {
			from = ">" // the pending list is done
			continue
		}
		acked := make([]string, 0, len(msgs))
		closed := false
		for _, xm := range msgs {
			if !s.deliver(ctx, xm, out) {
				closed = true // what was not acknowledged stays pending
				break
			}
			acked = append(acked, xm.ID)
		}
		if len(acked) > 0 {
			// A failed XACK leaves the messages pending; they come again
			// when this consumer starts again, and consumers drop what they
			// already have.
			if err := s.client.XAck(context.WithoutCancel(ctx), topic, s.group, acked...).Err(); err != nil {
				s.log.Warn().Err(err).Str("topic", topic).Int("messages", len(acked)).Msg("bus: acknowledge failed")
			}
		}
		if closed {
			return
		}
		if from != ">" {
			from = msgs[len(msgs)-1].ID // go on through the pending list
		}
	}
}

// deliver hands xm to the consumer until it is acknowledged (true) or the
// subscription ends (false). A message that cannot be decoded is reported
// and acknowledged: it would never decode.
func (s *batchSubscriber) deliver(ctx context.Context, xm redis.XMessage, out chan<- *message.Message) bool {
	msg, err := s.marshaller.Unmarshal(xm.Values)
	if err != nil {
		s.log.Error().Err(err).Str("xid", xm.ID).Msg("bus: undecodable message dropped")
		return true
	}
	for {
		acked, nacked := s.offer(ctx, msg, out)
		if !nacked {
			return acked
		}
		msg = msg.Copy()
		s.pause(ctx, s.nackSleep)
		if s.done(ctx) {
			return false
		}
	}
}

// offer hands msg to the consumer once and waits for its answer: acked,
// nacked, or neither when the subscription ends first.
func (s *batchSubscriber) offer(ctx context.Context, msg *message.Message, out chan<- *message.Message) (acked, nacked bool) {
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msg.SetContext(mctx)
	select {
	case out <- msg:
	case <-s.closing:
		return false, false
	case <-ctx.Done():
		return false, false
	}
	select {
	case <-msg.Acked():
		return true, false
	case <-msg.Nacked():
		return false, true
	case <-s.closing:
		return false, false
	case <-ctx.Done():
		return false, false
	}
}

// Close ends every subscription and waits for them; the client belongs to
// whoever made Config.Client.
func (s *batchSubscriber) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	s.wg.Wait()
	return nil
}
