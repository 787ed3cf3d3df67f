package mail

import (
	"bytes"
)

// dotWriter is net/textproto's DotWriter (the DATA encoding: a leading dot
// doubled, bare LF made CRLF, ".\r\n" at the end), producing the same bytes
// but copying runs of ordinary bytes at once: textproto's writes byte by
// byte through WriteByte, and go-mail writes a message in many small pieces.
// It writes into a buffer so a message is encoded once, before a
// connection is taken, and goes out in one write.
type dotWriter struct {
	w     *bytes.Buffer
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
				d.w.Write(b[n : n+i])
				n += i
				continue
			}
		}
		c := b[n]
		switch d.state {
		case dotBegin, dotBeginLine:
			d.state = dotData
			if c == '.' {
				d.w.WriteByte('.')
			}
			fallthrough
		case dotData:
			if c == '\r' {
				d.state = dotCR
			}
			if c == '\n' {
				d.w.WriteByte('\r')
				d.state = dotBeginLine
			}
		case dotCR:
			d.state = dotData
			if c == '\n' {
				d.state = dotBeginLine
			}
		}
		d.w.WriteByte(c)
		n++
	}
	return n, nil
}

// Close ends the data: a CRLF if the last line lacks one, then ".\r\n".
func (d *dotWriter) Close() error {
	switch d.state {
	default:
		d.w.WriteByte('\r')
		fallthrough
	case dotCR:
		d.w.WriteByte('\n')
		fallthrough
	case dotBeginLine:
		d.w.WriteString(".\r\n")
	}
	return nil
}
