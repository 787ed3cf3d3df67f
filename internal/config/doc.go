// Package config owns Herald's run-time configuration: it reads the
// environment (after LoadDotEnv has merged a `.env` file under it, the
// environment winning), parses and validates every variable `.env.sample`
// describes, and reports a missing or malformed value as one line naming
// the variable. Sub-commands ask only for what they use (Load(NeedDatabase)
// for `herald migrate`), so a tool never demands settings it ignores; a value
// that is set but malformed is refused whatever the sub-command.
package config
