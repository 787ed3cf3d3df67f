package http_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/mail"
)

// A blocked owner's mailing sends nothing: the run its open window asks
// for is recorded as skipped, and the history says why.
func TestBlockedOwnersRunIsSkippedInTheHistory(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a, staff := newUser(t, env), newUser(t, env, "managers")
	c, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "blocked-owner@example.org", "full_name": "Reader"})
	msg, _ := create(t, env, a, "/api/v1/messages", map[string]any{"subject": "From a blocked owner", "body": "Hi"})
	start := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	m, _ := create(t, env, a, "/api/v1/mailings", map[string]any{"message_id": msg, "client_ids": []uuid.UUID{c},
		"start_at": start.Format(time.RFC3339), "end_at": start.Add(72 * time.Hour).Format(time.RFC3339), "periodicity": "daily",
		"is_active": false})
	path := "/api/v1/mailings/" + m.String()

	want(t, "block the owner", env.Do("POST", "/api/v1/users/"+a.ID.String()+"/block", nil, staff.auth()...), 200)
	// Enabled inside its window, the mailing's first run is due at once.
	want(t, "staff enables", env.Do("POST", path+"/enable", nil, staff.auth()...), 200)

	type run struct {
		RunID  uuid.UUID `json:"run_id"`
		Status string    `json:"status"`
		Note   string    `json:"note"`
	}
	var h struct {
		Runs []run `json:"runs"`
	}
	testenv.Eventually(t, 30*time.Second, "the skipped run in the history", func() bool {
		res := env.Do("GET", path+"/history", nil, staff.auth()...)
		want(t, "the history", res, 200)
		res.Decode(t, &h)
		return len(h.Runs) > 0
	})
	if len(h.Runs) != 1 || h.Runs[0].Status != "skipped" || h.Runs[0].Note != domain.OwnerBlockedReason {
		t.Fatalf("runs %+v, want one skipped because %q", h.Runs, domain.OwnerBlockedReason)
	}
	// No run started, so nothing was sent.
	msgs, err := env.Sink.Messages()
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(msgs, func(sm mail.StoredMessage) bool { return slices.Contains(sm.Recipients, "blocked-owner@example.org") }) {
		t.Fatal("a blocked owner's mailing reached the sink")
	}
}
