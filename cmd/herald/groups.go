package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	cmds "github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/config"
)

var createGroupsCommand = command{
	name:    "create-groups",
	summary: "create the groups users and managers with their permissions (idempotent)",
	about: "users has no extra permission; managers has every *.view_all permission, mailings.toggle and\n" +
		"users.toggle, and its members are staff. Group ids derive from their names, so running it again\n" +
		"changes nothing; a group whose permissions were changed is reset to these.",
	define: func(*flag.FlagSet) action {
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unexpected arguments %q", args)
			}
			cfg, _, err := c.setup(config.NeedDatabase)
			if err != nil {
				return err
			}
			pool, err := openPool(ctx, cfg)
			if err != nil {
				return err
			}
			defer pool.Close()
			return createGroups(ctx, pool, c.out)
		}
	},
}

// createGroups ensures the default groups and prints one line per group.
func createGroups(ctx context.Context, pool *pgxpool.Pool, out io.Writer) error {
	store, err := eventstore.New(pool)
	if err != nil {
		return err
	}
	h, err := cmds.NewGroupHandler(store)
	if err != nil {
		return err
	}
	outcomes, err := h.CreateDefaultGroups(ctx, domain.Metadata{CorrelationID: uuid.New(), Command: "create-groups"})
	if err != nil {
		return err
	}
	names := make([]string, 0, len(outcomes))
	for n := range outcomes {
		names = append(names, n)
	}
	sort.Strings(names)
	defs := domain.DefaultGroups()
	for _, n := range names {
		fmt.Fprintf(out, "group %-8s %-20s permissions: %v\n", n, outcomes[n], defs[n])
	}
	return nil
}
