package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/config"
)

var configCommand = command{
	name:    "config",
	summary: "print the effective settings, secrets masked",
	about: "Reads the environment and ./.env (the environment wins) as every command does, and prints\n" +
		"one NAME=value line per setting in the order of .env.sample, with its default when unset.\n" +
		"Passwords (in DATABASE_URL, REDIS_URL, SMTP_URL, HERALD_SUPERUSER_PASSWORD...) show as\n" +
		config.Masked + ". A malformed value is reported as every command reports it (exit status 1).",
	define: func(fs *flag.FlagSet) action {
		asJSON := fs.Bool("json", false, "print one JSON object of NAME: value (strings), in the same order")
		return func(_ context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unexpected arguments %q", args)
			}
			settings, err := effectiveSettings()
			if err != nil {
				return err
			}
			if *asJSON {
				return writeSettingsJSON(c.out, settings)
			}
			for _, s := range settings {
				fmt.Fprintf(c.out, "%s=%s\n", s.Name, s.Value)
			}
			return nil
		}
	},
}

// effectiveSettings is config's settings followed by the few variables
// read where they are used (the last ones of .env.sample): the superuser
// of `herald ccsu`, the bcrypt cost and the sender's consumer name.
func effectiveSettings() ([]config.Setting, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	cost, err := app.BcryptCost()
	if err != nil {
		return nil, err
	}
	password := os.Getenv("HERALD_SUPERUSER_PASSWORD")
	if password != "" {
		password = config.Masked
	}
	return append(cfg.Settings(),
		config.Setting{Name: "HERALD_SUPERUSER_EMAIL", Value: os.Getenv("HERALD_SUPERUSER_EMAIL")},
		config.Setting{Name: "HERALD_SUPERUSER_PASSWORD", Value: password},
		config.Setting{Name: "BCRYPT_COST", Value: fmt.Sprint(cost)},
		config.Setting{Name: "SENDER_NAME", Value: app.SenderName()},
	), nil
}

// writeSettingsJSON writes settings as one JSON object, keeping their order
// (encoding/json sorts a map's keys).
func writeSettingsJSON(w io.Writer, settings []config.Setting) error {
	quote := func(v string) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v) // a string always encodes
		return strings.TrimSuffix(b.String(), "\n")
	}
	var b strings.Builder
	b.WriteString("{\n")
	for i, s := range settings {
		fmt.Fprintf(&b, "  %s: %s", quote(s.Name), quote(s.Value))
		if i < len(settings)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
