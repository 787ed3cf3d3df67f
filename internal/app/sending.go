package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/heraldmail/herald/commands"
	api "github.com/heraldmail/herald/http"
	"github.com/heraldmail/herald/mail"
	"github.com/heraldmail/herald/projections"
	"github.com/heraldmail/herald/saga"
)

// wireSending wires the scheduling saga and the sender: the
// dispatch and attempts endpoints, the attempts projector, the scheduler
// (its event handler in a runtime of its own, since saga_schedule is not a
// read model to rebuild, and its loop) and the sender consuming the
// command stream.
func wireSending(a *App) error {
	for _, c := range saga.Collectors() {
		if err := a.Registry.Register(c); err != nil {
			return fmt.Errorf("app: metrics: %w", err)
		}
	}
	queue, err := saga.NewQueue(a.Bus)
	if err != nil {
		return err
	}
	a.closers = append(a.closers, queue.Close)
	roster, err := saga.NewRoster(a.Pool)
	if err != nil {
		return err
	}
	handler, err := commands.NewRuns(a.Store, roster, queue, a.Now)
	if err != nil {
		return err
	}
	runs := a.Commands.Runs(handler)
	a.resources.runs = runs
	attempts, err := projections.NewAttemptQueries(a.Pool)
	if err != nil {
		return err
	}
	mailings, err := projections.NewResourceQueries(a.Pool)
	if err != nil {
		return err
	}
	door, err := api.NewSending(runs, mailings, attempts)
	if err != nil {
		return err
	}
	a.Areas.Sending = door
	a.Projectors = append(a.Projectors, projections.AttemptsProjector{})

	clock := nowClock{now: a.Now}
	sched, err := saga.NewScheduler(a.Pool, runs, clock, saga.SchedulerConfig{Grace: a.Config.SchedulerGrace, StallAfter: a.Config.SendStallAfter}, a.Log)
	if err != nil {
		return err
	}
	schedEvents, err := projections.NewRuntime(a.Pool, a.Bus, a.Log, sched)
	if err != nil {
		return err
	}
	a.eventHandlers = append(a.eventHandlers, sched)
	a.Components = append(a.Components,
		Component{Name: "scheduler-events", Role: RoleScheduler, Run: schedEvents.Run},
		Component{Name: "scheduler", Role: RoleScheduler, Run: sched.Run},
		Component{Name: "sender", Role: RoleSender, Run: func(ctx context.Context) error {
			if a.Config.SMTP.Host == "" {
				return errors.New("the sender role needs SMTP_URL")
			}
			limiter, err := sendRateLimiter(a)
			if err != nil {
				return err
			}
			conns, err := sendConnections(a)
			if err != nil {
				return err
			}
			mailer, err := mail.NewClient(mail.Config{Endpoint: a.Config.SMTP, From: a.Config.MailFrom,
				HELOName: a.Config.SMTPHELOName, RootCAs: a.Config.SMTPRootCAs, DKIM: a.Config.DKIM,
				Concurrency: a.Config.SendConcurrency, Limiter: limiter, Connections: conns})
			if err != nil {
				return err
			}
			defer mailer.Close()
			if a.UnsubscribeLinks == nil {
				return errors.New("the sender role needs UNSUBSCRIBE_SECRET")
			}
			s, err := saga.NewSender(a.Pool, a.Store, mailer, runs, clock, saga.SenderConfig{
				Concurrency: a.Config.SendConcurrency, PauseRatio: a.Config.SendFailurePauseRatio,
				RetrySchedule: a.Config.SendRetrySchedule, Unsubscribe: a.UnsubscribeLinks, Bounces: a.resources.optOuts}, a.Log)
			if err != nil {
				return err
			}
			return s.Consume(ctx, a.Bus, SenderName())
		}},
	)
	return nil
}

// sendRateLimiter is SEND_RATE for the whole instance: one bucket in Redis
// under BUS_TOPIC_PREFIX, which every sender process of the instance
// shares, so adding senders adds throughput only up to the rate the relay
// was promised. Nil when the rate is unlimited.
func sendRateLimiter(a *App) (mail.Limiter, error) {
	if a.Config.SendRate <= 0 {
		return nil, nil
	}
	return mail.NewSharedLimiter(a.Redis, a.Config.BusTopicPrefix+"send-rate", a.Config.SendRate)
}

// sendConnections is SEND_CONNECTIONS for the whole instance: one set of
// connection leases in Redis under BUS_TOPIC_PREFIX, shared by every sender
// process of the instance, so adding senders never opens more connections
// than the relay allows. Nil when unlimited.
func sendConnections(a *App) (*mail.SharedConnections, error) {
	if a.Config.SendConnections <= 0 {
		return nil, nil
	}
	return mail.NewSharedConnections(a.Redis, a.Config.BusTopicPrefix+"send-connections", a.Config.SendConnections, mail.DefaultLeaseTTL)
}

// SenderName is this process's stable consumer name in the sender group:
// SENDER_NAME, or the host name. A restarted sender with the same name
// takes back the commands it had not finished; two senders on one host
// should set different names.
func SenderName() string {
	if n := os.Getenv("SENDER_NAME"); n != "" {
		return n
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return "sender-" + h
	}
	return "sender"
}

// nowClock is the saga's clock over the application's now function.
type nowClock struct{ now func() time.Time }

func (c nowClock) Now() time.Time                         { return c.now() }
func (c nowClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
