package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// debugServer serves Go's profiler (net/http/pprof) on DEBUG_ADDR, on a
// mux of its own so nothing of it reaches the API's address. It answers
// anyone who reaches it: the setting's description says to keep it on
// loopback.
type debugServer struct {
	srv *http.Server
	ln  net.Listener
}

func listenDebug(addr string) (*debugServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("DEBUG_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No write timeout: a CPU profile or a trace answers after the
	// seconds it was asked to record.
	d := &debugServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln: ln}
	go func() { _ = d.srv.Serve(ln) }()
	return d, nil
}

// Addr is where the profiler listens.
func (d *debugServer) Addr() string { return d.ln.Addr().String() }

// Close stops it at once: a profile being taken is cut off.
func (d *debugServer) Close() { _ = d.srv.Close() }
