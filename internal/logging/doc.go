// Package logging owns how Herald's processes log: one zerolog logger built
// from LOG_LEVEL and LOG_FORMAT, JSON lines by default (for machines) and a
// human console format for `make run`. Packages receive the logger from the
// composition root (cmd/herald) or from the request context; none reads the
// environment or a global logger.
package logging
