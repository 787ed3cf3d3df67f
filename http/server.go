package http

import (
	"context"
	"errors"
	stdlog "log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Server is the HTTP listener of `herald serve --roles api`.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Listen binds addr (port 0 picks a free one; see Addr) and prepares to
// serve h. Request contexts do not derive from any shutdown signal:
// in-flight requests finish during Shutdown instead of being cancelled.
func Listen(addr string, h http.Handler, log zerolog.Logger) (*Server, error) {
	return listen(addr, h, log, defaultTimeouts)
}

// timeouts bound what a connection may hold: a client that sends its
// headers, its body or reads its answer slowly, or idles between
// requests, is cut off.
type timeouts struct {
	readHeader, read, write, idle time.Duration
}

var defaultTimeouts = timeouts{
	readHeader: 10 * time.Second,
	read:       30 * time.Second,
	// Above the 5 s X-Min-Position wait plus a slow query.
	write: 60 * time.Second,
	idle:  2 * time.Minute,
}

func listen(addr string, h http.Handler, log zerolog.Logger, t timeouts) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Server{
		ln: ln,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: t.readHeader,
			ReadTimeout:       t.read,
			WriteTimeout:      t.write,
			IdleTimeout:       t.idle,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          newStdLogger(log),
		},
	}, nil
}

// Addr is the address actually bound.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve answers requests until Shutdown; it returns nil after a Shutdown.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting connections and waits for in-flight requests
// until ctx ends; then it closes the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	return err
}

// newStdLogger routes net/http's own messages (TLS handshake errors,
// malformed requests) to zerolog at warn level.
func newStdLogger(log zerolog.Logger) *stdlog.Logger {
	return stdlog.New(warnWriter{log.With().Str("component", "net/http").Logger()}, "", 0)
}

type warnWriter struct{ log zerolog.Logger }

func (w warnWriter) Write(p []byte) (int, error) {
	w.log.Warn().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}
