package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	cmds "github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/internal/config"
)

// runCreateGroups: herald create-groups.
func runCreateGroups(ctx context.Context, args []string) error {
	fs := newFlags("create-groups", "create-groups",
		"Creates the groups users (no extra permissions) and managers (every *.view_all permission,\n"+
			"mailings.toggle and users.toggle; members are staff). Group ids derive from their names,\n"+
			"so running it again changes nothing; a group whose permissions were changed is reset to these.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf(fs, "unexpected arguments %q", fs.Args())
	}
	cfg, log, err := setup(config.NeedDatabase)
	if err != nil {
		return err
	}
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := createGroups(ctx, pool, os.Stdout); err != nil {
		return err
	}
	log.Debug().Msg("groups ensured")
	return nil
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
