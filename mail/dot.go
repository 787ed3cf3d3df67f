package mail

import (
	"bufio"
	"bytes"
)

// dotWriter is net/textproto's DotWriter (the DATA encoding: a leading dot
// doubled, bare LF made CRLF, ".\r\n" at the end), producing the same bytes
// but copying runs of ordinary bytes at once: textproto's writes byte by
// byte through WriteByte, and go-mail writes a message in many small pieces
// (it was ~4% of the sender's CPU in the saga's BenchmarkSend).
type dotWriter struct {
	w     *bufio.Writer
	state int
}

const (
	dotBegin     = iota // initial state; must be zero
	dotBeginLine        // beginning of line
	dotCR               // wrote \r (possibly at end of line)
	dotData             // writing data in middle of line
)

func (d *dotWriter) Write(b []byte) (n int, err error) {
	for n < len(b) {
		if d.state == dotData {
			i := bytes.IndexAny(b[n:], "\r\n")
			if i < 0 {
				i = len(b) - n
			}
			if i > 0 {
				m, err := d.w.Write(b[n : n+i])
				n += m
				if err != nil {
					return n, err
				}
				continue
			}
		}
		c := b[n]
		switch d.state {
		case dotBegin, dotBeginLine:
			d.state = dotData
			if c == '.' {
				_ = d.w.WriteByte('.')
			}
			fallthrough
		case dotData:
			if c == '\r' {
				d.state = dotCR
			}
			if c == '\n' {
				_ = d.w.WriteByte('\r')
				d.state = dotBeginLine
			}
		case dotCR:
			d.state = dotData
			if c == '\n' {
				d.state = dotBeginLine
			}
		}
		if err := d.w.WriteByte(c); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Close ends the data (a CRLF if the last line lacks one, then ".\r\n")
// and flushes.
func (d *dotWriter) Close() error {
	switch d.state {
	default:
		_ = d.w.WriteByte('\r')
		fallthrough
	case dotCR:
		_ = d.w.WriteByte('\n')
		fallthrough
	case dotBeginLine:
		_, _ = d.w.WriteString(".\r\n")
	}
	return d.w.Flush()
}
