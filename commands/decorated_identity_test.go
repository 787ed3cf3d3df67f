package commands_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
)

// The user and group commands go through the decorator like the others:
// one line each, with the command's name, its correlation and outcome, and
// a count; the reads pass through unlogged.
func TestIdentityCommandsAreDecorated(t *testing.T) {
	t.Parallel()
	env := newIdentityEnv(t)
	ctx := context.Background()
	var logs bytes.Buffer
	d := commands.NewDecorator(zerolog.New(&logs))
	users, groups := d.Users(env.users), d.Groups(env.groups)
	reg := prometheus.NewRegistry()
	reg.MustRegister(commands.Collectors()...)
	takenBefore, _ := commandCount(t, reg, "RegisterUser", "conflict")

	corr := uuid.Must(uuid.NewV7())
	m := domain.Metadata{CorrelationID: corr}
	if _, err := groups.CreateDefaultGroups(ctx, m); err != nil {
		t.Fatal(err)
	}
	email := strings.ToLower(uuid.NewString()) + "@example.org"
	cmd := commands.Register{Account: domain.NewAccount{Email: email, Name: "Ann", PasswordHash: "$2a$04$hash"},
		VerifyHash: uuid.NewString(), VerifyExpires: env.now.Add(time.Hour)}
	u, _, err := users.Register(ctx, m, cmd)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Account.ID, cmd.VerifyHash = uuid.Nil, uuid.NewString()
	if _, _, err := users.Register(ctx, m, cmd); !errors.Is(err, domain.ErrEmailTaken) {
		t.Fatalf("second registration of %s: %v", email, err)
	}
	if _, _, err := users.SetGroups(ctx, m, u.ID(), []string{domain.GroupUsers, domain.GroupManagers}, commands.NoIfMatch); err != nil {
		t.Fatal(err)
	}
	if _, _, err := users.Load(ctx, u.ID()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := users.FindByEmail(ctx, email); err != nil {
		t.Fatal(err)
	}

	var got []string
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var line map[string]any
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if line["message"] != "command handled" || line["correlation_id"] != corr.String() {
			t.Fatalf("line %v", line)
		}
		got = append(got, line["command"].(string)+" "+line["outcome"].(string))
	}
	want := []string{"CreateDefaultGroups ok", "RegisterUser ok", "RegisterUser conflict", "SetUserGroups ok"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("logged %q, want %q", got, want)
	}
	if taken, _ := commandCount(t, reg, "RegisterUser", "conflict"); taken-takenBefore != 1 {
		t.Fatalf("counted %d refused registrations, want 1", taken-takenBefore)
	}
}
