package main

import (
	"context"
	"fmt"
	"net"

	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/mail"
)

// runSMTPSink: herald smtp-sink [--addr 127.0.0.1:2525] [--dir .data/mail].
// Needs no configuration; logs one line per stored message (never the body).
func runSMTPSink(ctx context.Context, args []string) error {
	fs := newFlags("smtp-sink", "smtp-sink [--addr 127.0.0.1:2525] [--dir .data/mail]",
		"A local SMTP server for development and tests: it accepts every message (any credentials,\n"+
			"no TLS) and stores each one as <unix nanos>-<seq>.eml in --dir. Point SMTP_URL at it:\n"+
			"SMTP_URL=smtp://127.0.0.1:2525. Stops on Ctrl-C.")
	addr := fs.String("addr", "127.0.0.1:2525", "`host:port` to listen on")
	dir := fs.String("dir", ".data/mail", "`directory` receiving the .eml files (created if missing)")
	fsync := fs.Bool("fsync", false, "fsync every message before answering 250 (slower; off: a crash of the machine may lose the last messages)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf(fs, "unexpected argument %q", fs.Arg(0))
	}
	if host, _, err := net.SplitHostPort(*addr); err != nil {
		return usageErrorf(fs, "--addr %q: %v", *addr, err)
	} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		// It accepts anything from anyone: never expose it.
		return usageErrorf(fs, "--addr %q: the sink listens on loopback only (127.0.0.1, ::1, localhost)", *addr)
	}
	_, log, err := setup()
	if err != nil {
		return err
	}
	log = log.With().Str("component", "smtp-sink").Logger()
	sink, err := mail.NewSink(mail.SinkConfig{
		Addr:     *addr,
		Dir:      *dir,
		Fsync:    *fsync,
		OnStored: logStored(log),
	})
	if err != nil {
		return err
	}
	if err := sink.Start(ctx); err != nil {
		return err
	}
	log.Info().Str("addr", sink.Addr()).Str("dir", *dir).Str("smtp_url", sink.URL()).Msg("smtp sink listening")
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
