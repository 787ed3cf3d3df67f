package app_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// With SEND_CONNECTIONS set, the sender holds a lease in the instance's
// set (under BUS_TOPIC_PREFIX) for every connection it keeps open, and its
// mailing still goes out whole; with 0, the default, it holds none.
func TestSendConnectionsLeaseTheSendersConnections(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value  string
		leases int
	}{{"1", 1}, {"0", 0}} {
		t.Run("SEND_CONNECTIONS="+tc.value, func(t *testing.T) {
			t.Parallel()
			env := apptest.Start(t, apptest.WithEnv("SEND_CONNECTIONS", tc.value, "SEND_CONCURRENCY", "4"))
			owner := apptest.SignUp(env, testenv.Name("u")+"@example.org", "correct horse battery")
			var ids []uuid.UUID
			var to []string
			for range 4 {
				addr := testenv.Name("c") + "@example.org"
				to = append(to, addr)
				ids = append(ids, env.Create(owner.Token, "/api/v1/clients", map[string]any{"email": addr, "full_name": "Capped"}))
			}
			msg := env.Create(owner.Token, "/api/v1/messages", map[string]any{"subject": "News", "body": "Hi"})
			start := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
			env.Create(owner.Token, "/api/v1/mailings", map[string]any{"message_id": msg, "client_ids": ids,
				"start_at": start.Format(time.RFC3339), "end_at": start.Add(48 * time.Hour).Format(time.RFC3339), "periodicity": "once"})

			testenv.Eventually(t, 30*time.Second, "the mailing's four messages at the sink", func() bool {
				msgs, err := env.Sink.Messages()
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, m := range msgs {
					if slices.ContainsFunc(m.Recipients, func(r string) bool { return slices.Contains(to, r) }) {
						n++
					}
				}
				return n == len(to)
			})
			key := env.App.Config.BusTopicPrefix + "send-connections"
			if n, err := testenv.Redis(t).ZCard(t.Context(), key).Result(); err != nil || int(n) != tc.leases {
				t.Fatalf("%s holds %d leases (%v), want %d", key, n, err, tc.leases)
			}
		})
	}
}
