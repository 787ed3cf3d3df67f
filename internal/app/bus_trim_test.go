package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/bus"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// Once a mailing has gone out and every consumer has caught up, trimming
// leaves each of the instance's streams with at most the one entry its
// groups were last given: Redis keeps no copy of what PostgreSQL holds.
func TestStreamsKeepOnlyWhatConsumersStillNeed(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	owner := apptest.SignUp(env, testenv.Name("u")+"@example.org", "correct horse battery")
	var ids []uuid.UUID
	for i := range 30 {
		ids = append(ids, env.Create(owner.Token, "/api/v1/clients", map[string]any{"email": fmt.Sprintf("%s-%d@example.org", testenv.Name("c"), i), "full_name": "Reader"}))
	}
	msg := env.Create(owner.Token, "/api/v1/messages", map[string]any{"subject": "News", "body": "Hi"})
	start := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	mailing := env.Create(owner.Token, "/api/v1/mailings", map[string]any{"message_id": msg, "client_ids": ids,
		"start_at": start.Format(time.RFC3339), "end_at": start.Add(48 * time.Hour).Format(time.RFC3339), "periodicity": "once"})
	testenv.Eventually(t, 30*time.Second, "the mailing to complete", func() bool {
		var m struct {
			Status string `json:"status"`
		}
		res := env.Do("GET", "/api/v1/mailings/"+mailing.String(), nil, "Authorization", "Bearer "+owner.Token)
		if res.Status != 200 {
			return false // not projected yet
		}
		res.Decode(t, &m)
		return m.Status == "completed"
	})

	cfg := env.App.Bus
	rdb := cfg.Client
	ctx := context.Background()
	lengths := func() map[string]int64 {
		out := map[string]int64{}
		keys, err := rdb.Keys(ctx, cfg.Prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if rdb.Type(ctx, k).Val() == "stream" {
				out[k] = rdb.XLen(ctx, k).Val()
			}
		}
		return out
	}
	before := lengths()
	if before[cfg.Topic("events.client")] < 30 || before[cfg.Topic("events.run")] == 0 {
		t.Fatalf("streams before trimming: %v", before)
	}
	testenv.Eventually(t, 30*time.Second, "every stream trimmed to at most one entry", func() bool {
		if _, err := bus.TrimConsumed(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		for _, n := range lengths() {
			if n > 1 {
				return false
			}
		}
		return true
	})
	t.Logf("stream lengths before trimming %v, after %v", before, lengths())
}
