package mail

// Encode is build for the benchmarks of package mail_test: the message
// bytes as BDAT sends them (CRLF line ends, no dot-stuffing), signed when
// the Client signs.
func (c *Client) Encode(m Message) ([]byte, error) {
	o, err := c.build(m)
	if err != nil {
		return nil, err
	}
	defer o.release()
	return append([]byte(nil), o.data.Bytes()...), nil
}

// Abandon stops renewing the lease without giving it back, as a process
// killed while connected does; Close then does nothing.
func (l *ConnLease) Abandon() {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
	})
}
