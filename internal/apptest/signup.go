package apptest

import (
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/internal/testenv"
)

// Account is a user signed up through the API.
type Account struct {
	ID    uuid.UUID
	Email string
	Token string // the session token of its login
}

// verifyLink finds the token in the verification mail's link.
var verifyLink = regexp.MustCompile(`token=([A-Za-z0-9_\-.~%]+)`)

// SignUp registers email with password, confirms the address with the
// link of the verification mail the application sent to the env's sink,
// and logs in.
func SignUp(e *Env, email, password string) Account {
	e.T.Helper()
	return SignUpThrough(e, e.sinkInbox, email, password)
}

// SignUpThrough is SignUp for an application that mails elsewhere than its
// sink (a real MTA): inbox returns the bodies, transfer encoding undone, of
// the mails email has received so far.
func SignUpThrough(e *Env, inbox func(email string) []string, email, password string) Account {
	t := e.T
	t.Helper()
	res := e.Do("POST", "/api/v1/auth/register", map[string]string{"email": email, "password": password, "name": "Owner of " + email})
	if res.Status != 201 {
		t.Fatalf("register %s: %d %s", email, res.Status, res.Body)
	}
	var a Account
	res.Decode(t, &struct {
		ID    *uuid.UUID `json:"id"`
		Email *string    `json:"email"`
	}{&a.ID, &a.Email})

	var token string
	testenv.Eventually(t, 30*time.Second, "the verification mail to "+email, func() bool {
		for _, body := range inbox(email) {
			if m := verifyLink.FindStringSubmatch(body); m != nil {
				tok, err := url.QueryUnescape(m[1])
				if err != nil {
					t.Fatalf("verification link token %q: %v", m[1], err)
				}
				token = tok
			}
		}
		return token != ""
	})
	if res := e.Do("POST", "/api/v1/auth/verify", map[string]string{"token": token}); res.Status != 200 {
		t.Fatalf("verify %s: %d %s", email, res.Status, res.Body)
	}
	res = e.Do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password})
	if res.Status != 200 {
		t.Fatalf("login %s: %d %s", email, res.Status, res.Body)
	}
	var login struct {
		Token string `json:"token"`
	}
	res.Decode(t, &login)
	if login.Token == "" {
		t.Fatalf("login %s answered no token: %s", email, res.Body)
	}
	a.Token = login.Token
	return a
}

// sinkInbox is the bodies of the mails the sink holds for email.
func (e *Env) sinkInbox(email string) []string {
	e.T.Helper()
	msgs, err := e.Sink.Messages()
	if err != nil {
		e.T.Fatal(err)
	}
	var bodies []string
	for _, m := range msgs {
		if slices.Contains(m.Recipients, email) {
			bodies = append(bodies, m.Body)
		}
	}
	return bodies
}
