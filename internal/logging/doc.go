// Package logging owns how Herald's processes log: one zerolog logger built
// from LOG_LEVEL and LOG_FORMAT, JSON lines by default (for machines) and a
// human console format for `make run`. cmd/herald builds the logger and
// hands it to the composition root (internal/app); packages receive it from
// there or from the request context, and none reads the environment or a
// global logger.
package logging
