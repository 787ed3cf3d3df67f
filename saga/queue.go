package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/heraldmail/herald/bus"
	"github.com/heraldmail/herald/commands"
)

// DispatchTopic is the command stream DispatchMailing travels on.
const DispatchTopic = "commands.dispatch"

// SenderGroup is the consumer group of the senders: each command goes to
// one sender, and senders scale across processes.
const SenderGroup = "sender"

// Queue puts DispatchMailing commands on the command stream.
type Queue struct {
	pub message.Publisher
	cfg bus.Config
}

// NewQueue returns a queue publishing through cfg's Redis.
func NewQueue(cfg bus.Config) (*Queue, error) {
	pub, err := bus.NewPublisher(cfg)
	if err != nil {
		return nil, err
	}
	return &Queue{pub: pub, cfg: cfg}, nil
}

// Enqueue publishes d. The message id is derived from the run id (plus a
// fresh part: a repeated dispatch must reach a sender again).
func (q *Queue) Enqueue(_ context.Context, d commands.Dispatch) error {
	payload, err := json.Marshal(d)
	if err != nil {
		return err
	}
	m := message.NewMessage(uuid.Must(uuid.NewV7()).String(), payload)
	m.Metadata.Set("run_id", d.RunID.String())
	if err := q.pub.Publish(q.cfg.Topic(DispatchTopic), m); err != nil {
		return fmt.Errorf("publish dispatch of run %s: %w", d.RunID, err)
	}
	return nil
}

// Close closes the publisher.
func (q *Queue) Close() error { return q.pub.Close() }

// Consume feeds the command stream to s until ctx ends. consumer must be
// stable for this process across restarts (its unacknowledged commands are
// taken up again at start). A run that fails is not acknowledged and comes
// back after the subscriber's resend delay; it resumes where it stopped.
//
// A subscription that ends while ctx lives (Redis lost its data, so the
// group is gone) is made again, which recreates the group: the process
// keeps sending instead of idling until someone restarts it.
func (s *Sender) Consume(ctx context.Context, cfg bus.Config, consumer string) error {
	for {
		retry, err := s.consume(ctx, cfg, consumer)
		if ctx.Err() != nil {
			return nil
		}
		if !retry {
			return err
		}
		s.log.Warn().Err(err).Str("consumer", consumer).Msg("sender subscription ended; subscribing again")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(resubscribeDelay):
		}
	}
}

// resubscribeDelay is the pause before the sender subscribes again.
const resubscribeDelay = time.Second

// consume is one subscription: it returns when the subscription ends;
// retry is false when subscribing again cannot help (a wrong
// configuration).
func (s *Sender) consume(ctx context.Context, cfg bus.Config, consumer string) (retry bool, err error) {
	sub, err := bus.NewSubscriber(cfg, SenderGroup, consumer)
	if err != nil {
		return false, err
	}
	defer sub.Close()
	msgs, err := sub.Subscribe(ctx, cfg.Topic(DispatchTopic))
	if err != nil {
		return true, fmt.Errorf("subscribe %s: %w", DispatchTopic, err)
	}
	s.log.Info().Str("consumer", consumer).Msg("sender consuming")
	for m := range msgs {
		var d commands.Dispatch
		if err := json.Unmarshal(m.Payload, &d); err != nil || d.RunID == uuid.Nil {
			s.log.Error().Err(err).Str("message", m.UUID).Msg("undecodable dispatch command dropped")
			m.Ack()
			continue
		}
		if err := s.Handle(ctx, d); err != nil {
			if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				s.log.Error().Err(err).Str("run_id", d.RunID.String()).Msg("run interrupted; it resumes on redelivery")
			}
			m.Nack()
			continue
		}
		m.Ack()
	}
	return true, errors.New("subscription ended")
}
