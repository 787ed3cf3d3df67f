// Package mail owns Herald's SMTP: the delivery Client (go-mail), which keeps
// a bounded pool of reused connections, signs each message with DKIM when
// given a key, honours an optional send-rate cap (its own, or one every
// sender process shares through Redis) and an optional cap on the
// connections every sender process holds open together (leases in Redis),
// and classifies every attempt as success, temporary (4xx or no answer) or
// permanent (5xx) with the server's reply text; and the development Sink
// (go-smtp), a loopback SMTP server that accepts every message, stores it as
// an .eml file and lets tests script per-recipient replies and read the
// stored mail back. Retry policy is not here: the sender in saga decides
// what to do with a temporary Result.
package mail
