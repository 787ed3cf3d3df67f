package main

import (
	"context"
	"errors"
)

// Sub-commands not written yet. Whoever implements one in its own file
// (ccsu.go, groups.go, send.go, rebuild.go, history.go, smtpsink.go)
// deletes its stub here.

func runHistory(ctx context.Context, args []string) error { return errors.New("not implemented yet") }
