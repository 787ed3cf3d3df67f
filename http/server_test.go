package http

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// Shutdown lets a request in flight finish and refuses new connections.
func TestServerGracefulShutdown(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			time.Sleep(300 * time.Millisecond)
		}
		_, _ = io.WriteString(w, "done")
	})
	srv, err := Listen("127.0.0.1:0", h, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	base := "http://" + srv.Addr()

	type answer struct {
		body string
		err  error
	}
	slow := make(chan answer, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			slow <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		slow <- answer{string(b), err}
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shutdownDone := make(chan error, 1)
	go func() { shutdownDone <- srv.Shutdown(ctx) }()

	a := <-slow
	if a.err != nil || a.body != "done" {
		t.Fatalf("in-flight request: %q %v", a.body, a.err)
	}
	if err := <-shutdownDone; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	if _, err := http.Get(base + "/"); err == nil {
		t.Fatal("a new request was accepted after shutdown")
	}
}

// A request slower than the shutdown budget makes Shutdown report it.
func TestServerShutdownTimeout(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	})
	srv, err := Listen("127.0.0.1:0", h, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve() }()
	go func() {
		resp, err := http.Get("http://" + srv.Addr() + "/")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown returned nil with a request still running past the deadline")
	}
	close(release)
}

// Every deadline is set, and a client that sends its headers slowly is cut
// off instead of holding a connection.
func TestServerCutsOffSlowHeaders(t *testing.T) {
	t.Parallel()
	for name, d := range map[string]time.Duration{"read header": defaultTimeouts.readHeader, "read": defaultTimeouts.read,
		"write": defaultTimeouts.write, "idle": defaultTimeouts.idle} {
		if d <= 0 {
			t.Errorf("the %s timeout is not set", name)
		}
	}
	short := defaultTimeouts
	short.readHeader = 200 * time.Millisecond
	srv, err := listen("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), zerolog.Nop(), short)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve() }()
	t.Cleanup(func() { _ = srv.srv.Close() })
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Half a request line, then nothing: the server must close the
	// connection (it may answer 408 first) long before our own deadline.
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err = io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a connection whose headers never ended")
	}
}
