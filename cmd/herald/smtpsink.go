package main

import (
	"context"
	"flag"
	"fmt"
	"net"

	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/mail"
)

var smtpSinkCommand = command{
	name:    "smtp-sink",
	summary: "a local SMTP server storing every message as an .eml file, until Ctrl-C",
	about: "For development and tests: it accepts every message (any credentials, no TLS) and stores\n" +
		"each one as <unix nanos>-<seq>.eml in --dir. Point SMTP_URL at it:\n" +
		"SMTP_URL=smtp://127.0.0.1:2525. Needs no configuration; logs one line per stored message\n" +
		"(never the body) in LOG_FORMAT.",
	server: true,
	define: func(fs *flag.FlagSet) action {
		addr := fs.String("addr", "127.0.0.1:2525", "`HOST:PORT` to listen on (loopback only)")
		dir := fs.String("dir", ".data/mail", "`DIRECTORY` receiving the .eml files (created if missing)")
		fsync := fs.Bool("fsync", false, "fsync every message before answering 250 (slower; off: a crash of the machine may lose the last messages)")
		return func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unexpected argument %q", args[0])
			}
			if host, _, err := net.SplitHostPort(*addr); err != nil {
				return usageErrorf("--addr %q: %v", *addr, err)
			} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				// It accepts anything from anyone: never expose it.
				return usageErrorf("--addr %q: the sink listens on loopback only (127.0.0.1, ::1, localhost)", *addr)
			}
			return runSMTPSink(ctx, c, *addr, *dir, *fsync)
		}
	},
}

// runSMTPSink: herald smtp-sink [--addr 127.0.0.1:2525] [--dir .data/mail] [--fsync].
func runSMTPSink(ctx context.Context, c *cli, addr, dir string, fsync bool) error {
	_, log, err := c.setup()
	if err != nil {
		return err
	}
	log = log.With().Str("component", "smtp-sink").Logger()
	sink, err := mail.NewSink(mail.SinkConfig{
		Addr:     addr,
		Dir:      dir,
		Fsync:    fsync,
		OnStored: logStored(log),
	})
	if err != nil {
		return err
	}
	if err := sink.Start(ctx); err != nil {
		return err
	}
	log.Info().Str("addr", sink.Addr()).Str("dir", dir).Str("smtp_url", sink.URL()).Msg("smtp sink listening")
	if err := sink.Wait(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info().Int("stored", sink.Count()).Int("connections", sink.Connections()).Msg("smtp sink stopped")
	return nil
}

func logStored(log zerolog.Logger) func(mail.Stored) {
	return func(s mail.Stored) {
		log.Info().Str("file", s.File).Str("from", s.From).Int("recipients", len(s.Recipients)).
			Int("size", s.Size).Bool("tls", s.TLS).Msg("message stored")
	}
}
