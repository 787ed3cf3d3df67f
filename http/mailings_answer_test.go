package http_test

import (
	"testing"
	"time"
)

// A mailing command answers the mailing as the command left it, next run
// included, without asking the read model; once the model catches up it
// shows the same.
func TestMailingCommandAnswersShowTheirOwnNextRun(t *testing.T) {
	t.Parallel()
	env := startResources(t)
	a := newUser(t, env)
	msgID, _ := create(t, env, a, "/api/v1/messages", map[string]any{"subject": "Hello", "body": "Hi"})
	c1, _ := create(t, env, a, "/api/v1/clients", map[string]any{"email": "c1@example.org", "full_name": "C1"})
	body := mailingBody(msgID, c1)
	start, err := time.Parse(time.RFC3339, body["start_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	mid, res := create(t, env, a, "/api/v1/mailings", body)
	path := "/api/v1/mailings/" + mid.String()

	// same checks the answer's next run, then the read model's after it.
	same := func(what string, next *time.Time) {
		t.Helper()
		var answered, read mailingJSON
		res.Decode(t, &answered)
		if !sameTime(answered.NextRunAt, next) {
			t.Fatalf("%s answered next_run_at %v, want %v", what, answered.NextRunAt, next)
		}
		got := env.Do("GET", path, nil, a.auth("X-Min-Position", position(t, res))...)
		want(t, "get after "+what, got, 200)
		got.Decode(t, &read)
		if !sameTime(read.NextRunAt, next) {
			t.Fatalf("after %s the read model has next_run_at %v, the answer %v", what, read.NextRunAt, answered.NextRunAt)
		}
	}
	same("create", &start)

	res = env.Do("POST", path+"/disable", nil, a.auth()...)
	want(t, "disable", res, 200)
	same("disable", nil)

	res = env.Do("POST", path+"/enable", nil, a.auth()...)
	want(t, "enable", res, 200)
	same("enable", &start)

	later := start.Add(48 * time.Hour)
	res = env.Do("PATCH", path, map[string]any{"start_at": later.Format(time.RFC3339)}, a.auth()...)
	want(t, "move the start", res, 200)
	same("moving the start", &later)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
