package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	cmds "github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/config"
	"github.com/heraldmail/herald/internal/password"
	"github.com/heraldmail/herald/projections"
)

var ccsuCommand = command{
	name:    "ccsu",
	summary: "create the superuser (idempotent)",
	about: "The superuser is verified, active and holds every permission. The email comes from --email or\n" +
		"HERALD_SUPERUSER_EMAIL; the password from the first line of standard input (--password-stdin)\n" +
		"or HERALD_SUPERUSER_PASSWORD, never from the command line. When the email already belongs to a\n" +
		"superuser it is reported and nothing changes (the password is not reset); when it belongs to\n" +
		"an ordinary account the command is refused (exit status 4).",
	define: func(fs *flag.FlagSet) action {
		o := &ccsuOptions{}
		fs.StringVar(&o.email, "email", "", "the superuser's `EMAIL` (default $HERALD_SUPERUSER_EMAIL)")
		fs.StringVar(&o.name, "name", "Administrator", "the superuser's display `NAME`")
		fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unexpected arguments (the password is never taken from the command line)")
			}
			return runCCSU(ctx, c, *o)
		}
	},
}

// runCCSU: herald ccsu [--email E] [--name N] [--password-stdin].
func runCCSU(ctx context.Context, c *cli, o ccsuOptions) error {
	cfg, _, err := c.setup(config.NeedDatabase)
	if err != nil {
		return err
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	cost, err := app.BcryptCost()
	if err != nil {
		return err
	}
	msg, err := createSuperuser(ctx, pool, o, os.Stdin, cost)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, msg)
	return nil
}

type ccsuOptions struct {
	email         string
	name          string
	passwordStdin bool
}

// createSuperuser does the work of ccsu and returns the line to print.
func createSuperuser(ctx context.Context, pool *pgxpool.Pool, o ccsuOptions, stdin io.Reader, cost int) (string, error) {
	email := strings.TrimSpace(o.email)
	if email == "" {
		email = strings.TrimSpace(os.Getenv("HERALD_SUPERUSER_EMAIL"))
	}
	if email == "" {
		return "", errors.New("no email: pass --email or set HERALD_SUPERUSER_EMAIL")
	}
	var pw string
	if o.passwordStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	} else {
		pw = os.Getenv("HERALD_SUPERUSER_PASSWORD")
	}
	if pw == "" {
		return "", errors.New("no password: pass --password-stdin or set HERALD_SUPERUSER_PASSWORD")
	}
	if err := domain.ValidatePassword(pw); err != nil {
		return "", err
	}
	users, err := identityHandler(pool)
	if err != nil {
		return "", err
	}
	// Report an existing superuser before spending a bcrypt hash.
	if u, _, err := users.FindByEmail(ctx, email); err == nil && u.Superuser() {
		return fmt.Sprintf("superuser %s already exists (id %s); nothing changed", u.Email(), u.ID()), nil
	}
	hasher, err := password.New(cost)
	if err != nil {
		return "", err
	}
	hash, err := hasher.Hash(pw)
	if err != nil {
		return "", err
	}
	u, created, err := users.CreateSuperuser(ctx, domain.Metadata{CorrelationID: uuid.New(), Command: "ccsu"},
		domain.NewAccount{Email: email, Name: o.name, PasswordHash: hash})
	if err != nil {
		return "", fmt.Errorf("create superuser: %w", err)
	}
	if !created {
		return fmt.Sprintf("superuser %s already exists (id %s); nothing changed", u.Email(), u.ID()), nil
	}
	return fmt.Sprintf("created superuser %s (id %s)", u.Email(), u.ID()), nil
}

func identityHandler(pool *pgxpool.Pool) (*cmds.UserHandler, error) {
	store, err := eventstore.New(pool)
	if err != nil {
		return nil, err
	}
	q, err := projections.NewUserQueries(pool)
	if err != nil {
		return nil, err
	}
	return cmds.NewUserHandler(store, q, time.Now)
}
