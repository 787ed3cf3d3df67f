package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/domain"
)

// Config is how Herald talks to Redis.
type Config struct {
	Client redis.UniversalClient
	// Prefix is put in front of every topic and consumer group, so several
	// deployments (or parallel tests) can share one Redis.
	Prefix string
	// MaxLen bounds every stream (approximately). Consumers that fall further
	// behind than this lose messages from Redis and fill the gap from the
	// event store, so it trades memory for catch-up speed, not correctness.
	MaxLen int64
	Logger zerolog.Logger
}

// Connect opens a Redis client from a redis:// URL and checks it answers.
func Connect(ctx context.Context, url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("bus: REDIS_URL: %w", err)
	}
	// Every reply and command of the bus is small (a message names its event
	// in about 150 bytes): buffers of a few KiB instead of go-redis's 32 KiB
	// (128 KiB for pipelines) a connection, as a subscriber holds a
	// connection per topic in its blocking read. Larger replies stream
	// through them.
	opts.ReadBufferSize, opts.WriteBufferSize = 16<<10, 8<<10
	opts.PipelineReadBufferSize, opts.PipelineWriteBufferSize = 16<<10, 64<<10
	c := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pingCtx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("bus: redis ping: %w", err)
	}
	return c, nil
}

// Topic is the full name of a topic.
func (c Config) Topic(name string) string { return c.Prefix + name }

// NewPublisher returns a publisher whose streams are capped at MaxLen.
//
// It writes what watermill-redisstream's publisher writes (its marshaller,
// XADD with an approximate MAXLEN), with one difference: the messages of one
// Publish call travel in one pipeline, so the relay's batch of 500 events
// costs one round trip to Redis instead of 500. Redis runs a pipeline's
// commands in order on one connection, so a topic keeps its order; a call
// that fails part-way may have added some messages, which the caller
// publishes again (consumers drop what they already have).
func NewPublisher(c Config) (message.Publisher, error) {
	if c.Client == nil {
		return nil, errors.New("bus: nil redis client")
	}
	maxLen := c.MaxLen
	if maxLen <= 0 {
		maxLen = 1_000_000
	}
	return &publisher{client: c.Client, maxLen: maxLen}, nil
}

type publisher struct {
	client     redis.UniversalClient
	maxLen     int64
	marshaller redisstream.DefaultMarshallerUnmarshaller
	closed     atomic.Bool
}

func (p *publisher) Publish(topic string, msgs ...*message.Message) error {
	if p.closed.Load() {
		return errors.New("bus: publisher closed")
	}
	if len(msgs) == 0 {
		return nil
	}
	ctx := msgs[0].Context()
	pipe := p.client.Pipeline()
	for _, m := range msgs {
		values, err := p.marshaller.Marshal(topic, m)
		if err != nil {
			return fmt.Errorf("bus: marshal message %s: %w", m.UUID, err)
		}
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: topic, Values: values, MaxLen: p.maxLen, Approx: true})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("bus: publish %d messages to %s: %w", len(msgs), topic, err)
	}
	return nil
}

// Close stops publishing; the client belongs to whoever made Config.Client.
func (p *publisher) Close() error {
	p.closed.Store(true)
	return nil
}

// NewSubscriber returns a consumer-group subscriber. group and consumer must
// be stable across restarts: a new consumer name per start would strand the
// messages the previous one had read but not acknowledged.
func NewSubscriber(c Config, group, consumer string, opts ...SubscriberOption) (message.Subscriber, error) {
	if c.Client == nil {
		return nil, errors.New("bus: nil redis client")
	}
	if group == "" || consumer == "" {
		return nil, errors.New("bus: subscriber needs a group and a consumer name")
	}
	claim := claimPolicy{maxIdle: time.Millisecond, interval: time.Minute}
	for _, o := range opts {
		o(&claim)
	}
	return redisstream.NewSubscriber(redisstream.SubscriberConfig{
		Client:        borrowed{c.Client},
		ConsumerGroup: c.Prefix + group,
		Consumer:      consumer,
		// Handlers retry inside themselves; a Nack is only for shutdown, and
		// must not spin.
		NackResendSleep: 500 * time.Millisecond,
		BlockTime:       time.Second,
		// At start the subscriber first takes over what this consumer read
		// but never acknowledged (idle longer than MaxIdleTime), then reads
		// new messages; the background claim is for crashed peers. If that
		// first claim fails (Redis restarted empty at that moment), reading
		// waits a whole ClaimInterval.
		MaxIdleTime:                   claim.maxIdle,
		ClaimInterval:                 claim.interval,
		DisableIndefiniteInitialBlock: true,
		OldestId:                      "0",
		// A Redis that lost its data (restarted without persistence) has no
		// group any more; watermill would fail to read forever. Stopping
		// closes the subscription, and the consumer subscribes again, which
		// recreates the group.
		ShouldStopOnReadErrors: func(err error) bool { return strings.HasPrefix(err.Error(), "NOGROUP") },
	}, Logger(c.Logger))
}

// borrowed shares the deployment's client with a watermill publisher or
// subscriber, whose Close would otherwise close the client for everyone.
// Whoever made Config.Client closes it.
type borrowed struct{ redis.UniversalClient }

func (borrowed) Close() error { return nil }

type claimPolicy struct{ maxIdle, interval time.Duration }

// SubscriberOption adjusts a subscriber.
type SubscriberOption func(*claimPolicy)

// WithClaim sets how long a read but unacknowledged message stays with its
// consumer before another (or the same, restarted) one may take it over, and
// how often that is checked. The default (1 ms, 1 min) hands a restarted
// consumer its own pending messages at once.
func WithClaim(maxIdle, interval time.Duration) SubscriberOption {
	return func(p *claimPolicy) { p.maxIdle, p.interval = maxIdle, interval }
}

// Message metadata keys set on every event message.
const (
	MetaEventType = "event_type"
	MetaPosition  = "position"
	MetaTxID      = "tx_id"
)

// Cursor is a place in the store's commit order (see eventstore.Cursor; it is
// repeated here so the bus does not depend on the store).
type Cursor struct {
	TxID     uint64 `json:"tx_id"`
	Position int64  `json:"position"`
}

// EventMessage is the message announcing a stored event: its id, type and
// place in the store's commit order. It carries no payload: consumers read
// events from the store, so a message takes about a hundred bytes of Redis
// whatever its event holds.
func EventMessage(e domain.RecordedEvent) *message.Message {
	m := message.NewMessage(e.EventID.String(), nil)
	m.Metadata.Set(MetaEventType, e.Type)
	m.Metadata.Set(MetaPosition, strconv.FormatInt(e.Position, 10))
	m.Metadata.Set(MetaTxID, strconv.FormatUint(e.TxID, 10))
	return m
}

// MessageCursor reads where an event message's event stands in the store's
// commit order.
func MessageCursor(m *message.Message) (Cursor, error) {
	at, err := metaCursor(m, MetaTxID, MetaPosition)
	if err != nil {
		return at, fmt.Errorf("bus: message %s: bad cursor: %w", m.UUID, err)
	}
	return at, nil
}

// metaCursor reads the cursor whose transaction id and position m's
// metadata holds under txKey and posKey.
func metaCursor(m *message.Message, txKey, posKey string) (Cursor, error) {
	tx, err1 := strconv.ParseUint(m.Metadata.Get(txKey), 10, 64)
	pos, err2 := strconv.ParseInt(m.Metadata.Get(posKey), 10, 64)
	return Cursor{TxID: tx, Position: pos}, errors.Join(err1, err2)
}

// Logger adapts zerolog to watermill's logger interface.
func Logger(l zerolog.Logger) watermill.LoggerAdapter { return zlog{l: l} }

type zlog struct {
	l      zerolog.Logger
	fields watermill.LogFields
}

func (z zlog) with(ev *zerolog.Event, fields watermill.LogFields) *zerolog.Event {
	for k, v := range z.fields {
		ev = ev.Interface(k, v)
	}
	for k, v := range fields {
		ev = ev.Interface(k, v)
	}
	return ev
}

func (z zlog) Error(msg string, err error, fields watermill.LogFields) {
	z.with(z.l.Error().Err(err), fields).Msg(msg)
}
func (z zlog) Info(msg string, fields watermill.LogFields) {
	// watermill is chatty at info; its info is our debug.
	z.with(z.l.Debug(), fields).Msg(msg)
}
func (z zlog) Debug(msg string, fields watermill.LogFields) { z.with(z.l.Trace(), fields).Msg(msg) }
func (z zlog) Trace(msg string, fields watermill.LogFields) { z.with(z.l.Trace(), fields).Msg(msg) }
func (z zlog) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return zlog{l: z.l, fields: z.fields.Add(fields)}
}
