// Package scale is Herald's end-to-end benchmark of audience size. One
// `herald serve` process with every role runs against a database and a
// Redis of its own and a local SMTP sink that discards what it receives; a
// CSV of N clients goes in through the import endpoint, one all-clients
// mailing of a personal 4 KB HTML + text newsletter is dispatched and
// followed until its report counts every delivery. Beside the delivery
// rate it measures the floor (go-mail alone sending the same mail to the
// same sink with as many connections), the process's peak memory, what the
// run leaves in PostgreSQL per delivery and in Redis once consumers have
// caught up. The benchmark lives in this package's tests; `make bench`
// runs it (BENCH=BenchmarkAudience alone).
package scale
