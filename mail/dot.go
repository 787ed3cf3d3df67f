package mail

import (
	"bufio"
	"bytes"
)

// dotWriter is net/textproto's DotWriter (the DATA encoding: a leading dot
// doubled, bare LF made CRLF, ".\r\n" at the end), producing the same bytes
// but copying runs of ordinary bytes at once: textproto's writes byte by
// byte through WriteByte, and go-mail writes a message in many small pieces.
// It writes into a buffer so a message is encoded once, before a
// connection is taken, and goes out in one write.
//
// With raw set it only makes line ends CRLF and ends the last line: the
// message as BDAT carries it and DKIM signs it; writeStuffed then gives
// the DATA encoding of those bytes when a server lacks CHUNKING.
type dotWriter struct {
	w     *bytes.Buffer
	raw   bool
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
			if c == '.' && !d.raw {
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

// Close ends the data: a CRLF if the last line lacks one, then ".\r\n"
// unless raw.
func (d *dotWriter) Close() error {
	switch d.state {
	case dotBegin:
		if d.raw {
			return nil
		}
		d.w.WriteString("\r\n")
	case dotData:
		d.w.WriteString("\r\n")
	case dotCR:
		d.w.WriteByte('\n')
	}
	if !d.raw {
		d.w.WriteString(".\r\n")
	}
	return nil
}

// writeStuffed writes raw, a message a raw dotWriter produced (CRLF line
// ends, the last line ended), in the DATA encoding: every line beginning
// with a dot gets a second one, and ".\r\n" ends it.
func writeStuffed(w *bufio.Writer, raw []byte) {
	for len(raw) > 0 {
		if raw[0] == '.' {
			_ = w.WriteByte('.')
		}
		i := bytes.Index(raw, []byte("\r\n"))
		if i < 0 { // not a raw dotWriter's output: end the line
			_, _ = w.Write(raw)
			_, _ = w.WriteString("\r\n")
			break
		}
		_, _ = w.Write(raw[:i+2])
		raw = raw[i+2:]
	}
	_, _ = w.WriteString(".\r\n")
}
