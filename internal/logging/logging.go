package logging

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// New returns a logger writing to w at level ("trace", "debug", "info",
// "warn", "error"; empty means info) in format "json" (default) or "console".
// Every line carries a UTC timestamp with milliseconds.
func New(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl := zerolog.InfoLevel
	if level != "" {
		l, err := zerolog.ParseLevel(strings.ToLower(level))
		if err != nil || l == zerolog.NoLevel {
			return zerolog.Nop(), fmt.Errorf("logging: unknown level %q", level)
		}
		lvl = l
	}
	switch strings.ToLower(format) {
	case "", "json":
	case "console":
		// Colours only on a terminal: escape codes clutter files and CI logs.
		f, isFile := w.(*os.File)
		color := isFile && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000", NoColor: !color}
	default:
		return zerolog.Nop(), fmt.Errorf("logging: unknown format %q (json or console)", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

func init() {
	// Process-wide zerolog settings, chosen once here so every logger agrees.
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
	zerolog.TimestampFunc = func() time.Time { return time.Now().UTC() }
	zerolog.DurationFieldUnit = time.Millisecond
	zerolog.DurationFieldInteger = false
}
