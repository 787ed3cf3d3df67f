// Package migrations holds Herald's goose SQL migrations, embedded in the
// binary so `herald migrate` and the tests need no files on disk.
package migrations

import "embed"

// FS is the embedded migration files.
//
//go:embed *.sql
var FS embed.FS
