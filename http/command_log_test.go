package http_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	api "github.com/heraldmail/herald/http"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// Every command a request makes, in every area, goes through the decorator
// and logs one "command handled" line whose correlation is the request id;
// a request that runs no command logs none.
func TestEveryCommandOfARequestLogsItsCorrelation(t *testing.T) {
	t.Parallel()
	logs := &api.LogBuffer{}
	env := apptest.Start(t, apptest.WithRoles("projector"), apptest.WithLogLevel(zerolog.InfoLevel), apptest.WithLogOutput(logs))
	idGroups(t, env)
	root := idSuperuser(t, env)

	type step struct {
		command string // "" when the request runs no command
		what    string
		res     *apptest.Response
	}
	var steps []step
	do := func(command string, status int, method, path string, body any, headers ...string) *apptest.Response {
		t.Helper()
		res := env.Do(method, path, body, headers...)
		want(t, method+" "+path, res, status)
		steps = append(steps, step{command, method + " " + path, res})
		return res
	}
	token := func(res *apptest.Response) string {
		t.Helper()
		var l struct {
			Token string `json:"token"`
		}
		res.Decode(t, &l)
		return l.Token
	}
	created := func(res *apptest.Response) uuid.UUID {
		t.Helper()
		var c struct {
			ID uuid.UUID `json:"id"`
		}
		res.Decode(t, &c)
		return c.ID
	}

	email, newPassword := testenv.Name("log")+"@example.org", "another horse battery"
	account := "/api/v1/users/" + created(do("RegisterUser", 201, "POST", "/api/v1/auth/register",
		map[string]string{"email": email, "password": idPassword, "name": "Logged"})).String()
	do("VerifyEmail", 200, "GET", "/api/v1/auth/verify?token="+idVerifyToken(t, env, email), nil)
	do("", 200, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": idPassword})
	do("RequestPasswordReset", 202, "POST", "/api/v1/auth/password-reset", map[string]string{"email": email})
	reset := idTokenLineRE.FindStringSubmatch(idMail(t, env, email, "Reset", 0))
	if reset == nil {
		t.Fatal("no token in the reset mail")
	}
	do("ResetPassword", 200, "POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": reset[1], "password": newPassword})
	u := apptest.Bearer(token(do("", 200, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": newPassword})))
	do("", 200, "GET", "/api/v1/me", nil, u...)

	clientID := created(do("CreateClient", 201, "POST", "/api/v1/clients", map[string]any{"email": "c@example.org", "full_name": "C"}, u...))
	client := "/api/v1/clients/" + clientID.String()
	do("UpdateClient", 200, "PATCH", client, map[string]any{"comment": "logged"}, u...)
	messageID := created(do("CreateMessage", 201, "POST", "/api/v1/messages", map[string]any{"subject": "S", "body": "B"}, u...))
	do("UpdateMessage", 200, "PUT", "/api/v1/messages/"+messageID.String(), map[string]any{"subject": "S2", "body": "B2"}, u...)
	mailing := "/api/v1/mailings/" + created(do("CreateMailing", 201, "POST", "/api/v1/mailings", mailingBody(messageID, clientID), u...)).String()
	do("UpdateMailing", 200, "PATCH", mailing, map[string]any{"periodicity": "daily"}, u...)
	do("DisableMailing", 200, "POST", mailing+"/disable", nil, u...)
	do("EnableMailing", 200, "POST", mailing+"/enable", nil, u...)
	do("DispatchMailing", 202, "POST", mailing+"/dispatch", nil, u...)
	do("DeleteMailing", 204, "DELETE", mailing, nil, u...)
	spare := "/api/v1/messages/" + created(do("CreateMessage", 201, "POST", "/api/v1/messages", map[string]any{"subject": "Spare", "body": "B"}, u...)).String()
	do("DeleteMessage", 204, "DELETE", spare, nil, u...)
	do("DeleteClient", 204, "DELETE", client, nil, u...)
	do("", 200, "GET", "/api/v1/stats", nil)
	do("", 404, "POST", "/api/v1/users/"+uuid.NewString()+"/block", nil, u...) // refused before any command

	do("BlockUser", 200, "POST", account+"/block", nil, root.bearer()...)
	do("ActivateUser", 200, "POST", account+"/activate", nil, root.bearer()...)
	do("SetUserGroups", 200, "PUT", account+"/groups", map[string]any{"groups": []string{"users", "managers"}}, root.bearer()...)

	handled := map[string][]map[string]any{} // by correlation
	for _, line := range logs.Lines(t) {
		if line["message"] == "command handled" {
			corr, _ := line["correlation_id"].(string)
			handled[corr] = append(handled[corr], line)
		}
	}
	for _, s := range steps {
		id := s.res.Header.Get("X-Request-ID")
		lines := handled[id]
		if s.command == "" {
			if len(lines) != 0 {
				t.Errorf("%s ran no command but logged %v", s.what, lines)
			}
			continue
		}
		if len(lines) != 1 || lines[0]["command"] != s.command || lines[0]["outcome"] != "ok" {
			t.Errorf("%s (request %s): logged %v, want one %s line", s.what, id, lines, s.command)
		}
	}
}
