package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/identity"
	"github.com/heraldmail/herald/internal/password"
	"github.com/heraldmail/herald/mail"
	"github.com/heraldmail/herald/projections"

	api "github.com/heraldmail/herald/http"
)

// wireIdentity wires the identity area: the identity service as the API's
// Authenticator, its HTTP door, the users projector.
//
// BCRYPT_COST (4–31, default password.DefaultCost) sets the password hashing
// cost; the tests set the minimum. Identity mails (verification, reset) use a
// small mail client of their own, so they never queue behind a mailing run.
func wireIdentity(a *App) error {
	cost, err := BcryptCost()
	if err != nil {
		return err
	}
	hasher, err := password.New(cost)
	if err != nil {
		return err
	}
	var mailer identity.Mailer = unconfiguredMailer{}
	if a.Config.SMTP.Host != "" {
		c, err := mail.NewClient(mail.Config{Endpoint: a.Config.SMTP, From: a.Config.MailFrom,
			HELOName: a.Config.SMTPHELOName, RootCAs: a.Config.SMTPRootCAs, DKIM: a.Config.DKIM, Concurrency: 2})
		if err != nil {
			return fmt.Errorf("identity mail: %w", err)
		}
		a.closers = append(a.closers, c.Close)
		mailer = c
	}
	publicURL := a.Config.PublicBaseURL
	if publicURL == "" {
		publicURL = "http://" + a.Config.HTTPAddr // roles without the API never mail links
	}
	queries, err := projections.NewUserQueries(a.Pool)
	if err != nil {
		return err
	}
	sessions, err := projections.NewSessions(a.Pool)
	if err != nil {
		return err
	}
	users, err := commands.NewUserHandler(a.Store, queries, a.Now)
	if err != nil {
		return err
	}
	groups, err := commands.NewGroupHandler(a.Store)
	if err != nil {
		return err
	}
	svc, err := identity.New(identity.Config{
		Users:         a.Commands.Users(users),
		Groups:        a.Commands.Groups(groups),
		Accounts:      queries,
		Sessions:      sessions,
		Redis:         a.Redis,
		Mailer:        mailer,
		Hasher:        hasher,
		PublicBaseURL: publicURL,
		SessionTTL:    a.Config.TokenTTL,
		SessionIdle:   a.Config.SessionIdleTimeout,
		VerifyTTL:     a.Config.TokenTTL,
		Throttle: identity.ThrottleConfig{
			AccountLimit:  int64(a.Config.LoginAccountLimit),
			AddrLimit:     int64(a.Config.LoginAddrLimit),
			MailAddrLimit: int64(a.Config.AccountMailAddrLimit),
			KeyPrefix:     a.Config.BusTopicPrefix,
		},
		Now: a.Now,
	})
	if err != nil {
		return err
	}
	door, err := api.NewIdentity(svc)
	if err != nil {
		return err
	}
	a.closers = append(a.closers, func() error { svc.Wait(); return nil })
	a.Components = append(a.Components, Component{Name: "sessions.cleanup", Role: RoleAPI, Run: func(ctx context.Context) error {
		return cleanSessions(ctx, a, sessions)
	}})
	a.Auth = svc
	a.Areas.Identity = door
	a.userQueries = queries
	a.Projectors = append(a.Projectors, projections.NewUsers())
	return nil
}

// cleanSessions deletes, every hour, sessions that expired or were revoked
// more than a day ago (the day keeps them for a look after an incident).
func cleanSessions(ctx context.Context, a *App, sessions *projections.Sessions) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := sessions.DeleteExpired(ctx, a.Now().Add(-24*time.Hour))
		if err != nil && ctx.Err() == nil {
			a.Log.Warn().Err(err).Msg("session cleanup failed; retrying in an hour")
		} else if n > 0 {
			a.Log.Info().Int64("deleted", n).Msg("old sessions deleted")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// BcryptCost is BCRYPT_COST, or password.DefaultCost when unset.
func BcryptCost() (int, error) {
	raw, ok := os.LookupEnv("BCRYPT_COST")
	if !ok || raw == "" {
		return password.DefaultCost, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < password.MinCost || n > 31 {
		return 0, fmt.Errorf("BCRYPT_COST: must be an integer from %d to 31, got %q", password.MinCost, raw)
	}
	return n, nil
}

// unconfiguredMailer answers every send with a permanent failure: a process
// without SMTP_URL still registers accounts (logged), it cannot mail them.
type unconfiguredMailer struct{}

func (unconfiguredMailer) Send(context.Context, mail.Message) mail.Result {
	err := errors.New("SMTP_URL is not configured")
	return mail.Result{Outcome: mail.Permanent, Response: err.Error(), Err: err}
}
