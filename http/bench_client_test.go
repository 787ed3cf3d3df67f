package http_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
)

// loadClient is the benchmarks' load generator: keep-alive HTTP/1.1
// connections, each request written whole in one write and its answer read
// with http.ReadResponse, as wrk does. The benchmark shares the machine's
// cores with the server it measures, and net/http's Transport spends a
// request two goroutine hand-offs and its pool's bookkeeping on top of
// that: CPU taken from the server that a client elsewhere would not take.
// It is safe for concurrent use; each call holds a connection of its own.
type loadClient struct {
	host string
	idle chan *loadConn
}

type loadConn struct {
	c   net.Conn
	r   *bufio.Reader
	req []byte
	out []byte
}

// newLoadClient returns a client of the server at base ("http://host:port"),
// keeping up to conns connections open.
func newLoadClient(base string, conns int) (*loadClient, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("load client: want http://host:port, got %q", base)
	}
	return &loadClient{host: u.Host, idle: make(chan *loadConn, conns)}, nil
}

// do sends one request (body nil for none, else JSON) and hands the
// answer's status and body to read; the body is the connection's buffer,
// valid only during read.
func (c *loadClient) do(method, path, token string, body []byte, read func(status int, body []byte) error) error {
	var lc *loadConn
	select {
	case lc = <-c.idle:
	default:
		conn, err := net.Dial("tcp", c.host)
		if err != nil {
			return err
		}
		lc = &loadConn{c: conn, r: bufio.NewReaderSize(conn, 32<<10)}
	}
	b := lc.req[:0]
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, c.host...)
	if token != "" {
		b = append(b, "\r\nAuthorization: Bearer "...)
		b = append(b, token...)
	}
	if body != nil {
		b = append(b, "\r\nContent-Type: application/json\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
	}
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	lc.req = b
	if _, err := lc.c.Write(b); err != nil {
		_ = lc.c.Close()
		return err
	}
	res, err := http.ReadResponse(lc.r, nil)
	if err != nil {
		_ = lc.c.Close()
		return err
	}
	lc.out = lc.out[:0]
	if res.ContentLength > 0 && int64(cap(lc.out)) < res.ContentLength {
		lc.out = make([]byte, 0, res.ContentLength)
	}
	for {
		if len(lc.out) == cap(lc.out) {
			lc.out = append(lc.out, 0)[:len(lc.out)]
		}
		n, err := res.Body.Read(lc.out[len(lc.out):cap(lc.out)])
		lc.out = lc.out[:len(lc.out)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			_ = lc.c.Close()
			return err
		}
	}
	_ = res.Body.Close()
	err = read(res.StatusCode, lc.out)
	if res.Close {
		_ = lc.c.Close()
		return err
	}
	select {
	case c.idle <- lc:
	default:
		_ = lc.c.Close()
	}
	return err
}

// close closes the idle connections.
func (c *loadClient) close() {
	for {
		select {
		case lc := <-c.idle:
			_ = lc.c.Close()
		default:
			return
		}
	}
}
