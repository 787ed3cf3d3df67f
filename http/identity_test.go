package http_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/password"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

// Component tests of the identity area: the whole application (HTTP, relay,
// projectors) against real PostgreSQL, Redis and the SMTP sink.

func init() {
	// bcrypt at its minimum cost keeps these tests fast; BenchmarkLogin sets
	// its own cost. An explicit BCRYPT_COST wins.
	if os.Getenv("BCRYPT_COST") == "" {
		_ = os.Setenv("BCRYPT_COST", strconv.Itoa(password.MinCost))
	}
}

const idPassword = "correct horse battery"

// idAccount is an account made through the API.
type idAccount struct {
	ID    uuid.UUID
	Email string
	Token string // empty until logged in
}

func (a idAccount) bearer() []string { return apptest.Bearer(a.Token) }

var (
	idVerifyLinkRE = regexp.MustCompile(`(http://[^\s]+)/api/v1/auth/verify\?token=([A-Za-z0-9_-]{43})`)
	idTokenLineRE  = regexp.MustCompile(`(?m)^([A-Za-z0-9_-]{43})\r?$`)
)

// idMail waits for the mail to email whose subject contains subject and
// returns its body.
func idMail(t testing.TB, env *apptest.Env, email, subject string, skip int) string {
	t.Helper()
	body := ""
	testenv.Eventually(t, 30*time.Second, fmt.Sprintf("mail %q to %s", subject, email), func() bool {
		msgs, err := env.Sink.Messages()
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, m := range msgs {
			if slices.Contains(m.Recipients, email) && strings.Contains(m.Subject, subject) {
				if seen == skip {
					body = m.Body
					return true
				}
				seen++
			}
		}
		return false
	})
	return body
}

// idVerifyToken reads the token out of the verification mail's link.
func idVerifyToken(t testing.TB, env *apptest.Env, email string) string {
	t.Helper()
	body := idMail(t, env, email, "Confirm", 0)
	m := idVerifyLinkRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no verification link in %q", body)
	}
	if m[1] != env.URL {
		t.Fatalf("link base %q, want PUBLIC_BASE_URL %q", m[1], env.URL)
	}
	if line := idTokenLineRE.FindStringSubmatch(body); line == nil || line[1] != m[2] {
		t.Fatalf("the token is not alone on a line of %q", body)
	}
	return m[2]
}

func idRegister(t testing.TB, env *apptest.Env, email string) idAccount {
	t.Helper()
	res := env.Do("POST", "/api/v1/auth/register", map[string]string{"email": email, "password": idPassword, "name": "Name of " + email})
	idWant(t, "register "+email, res, 201)
	var reg struct {
		ID    uuid.UUID `json:"id"`
		Email string    `json:"email"`
	}
	res.Decode(t, &reg)
	return idAccount{ID: reg.ID, Email: reg.Email}
}

func idLogin(t testing.TB, env *apptest.Env, email, pw string) *apptest.Response {
	t.Helper()
	return env.Do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": pw})
}

// idVerified registers, verifies and logs in a new account.
func idVerified(t testing.TB, env *apptest.Env) idAccount {
	t.Helper()
	a := idRegister(t, env, testenv.Name("id")+"@example.org")
	idWant(t, "verify", env.Do("GET", "/api/v1/auth/verify?token="+idVerifyToken(t, env, a.Email), nil), 200)
	res := idLogin(t, env, a.Email, idPassword)
	idWant(t, "login", res, 200)
	var l struct {
		Token string `json:"token"`
	}
	res.Decode(t, &l)
	a.Token = l.Token
	return a
}

// idSuperuser creates a superuser as `herald ccsu` does and logs in.
func idSuperuser(t testing.TB, env *apptest.Env) idAccount {
	t.Helper()
	h, err := password.New(password.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash(idPassword)
	if err != nil {
		t.Fatal(err)
	}
	users := idUsers(t, env)
	email := testenv.Name("root") + "@example.org"
	u, _, err := users.CreateSuperuser(context.Background(), domain.Metadata{Command: "ccsu"},
		domain.NewAccount{Email: email, Name: "Root", PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	res := idLogin(t, env, email, idPassword)
	idWant(t, "superuser login", res, 200)
	var l struct {
		Token string `json:"token"`
	}
	res.Decode(t, &l)
	return idAccount{ID: u.ID(), Email: email, Token: l.Token}
}

func idUsers(t testing.TB, env *apptest.Env) *commands.UserHandler {
	t.Helper()
	q, err := projections.NewUserQueries(env.Pool)
	if err != nil {
		t.Fatal(err)
	}
	users, err := commands.NewUserHandler(env.App.Store, q, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return users
}

// idGroups runs create-groups on env.
func idGroups(t testing.TB, env *apptest.Env) *commands.GroupHandler {
	t.Helper()
	g, err := commands.NewGroupHandler(env.App.Store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.CreateDefaultGroups(context.Background(), domain.Metadata{Command: "create-groups"}); err != nil {
		t.Fatal(err)
	}
	return g
}

// idWaitUsers waits until the users read model has applied res's event.
func idWaitUsers(t testing.TB, env *apptest.Env, res *apptest.Response) {
	t.Helper()
	pos, err := strconv.ParseInt(res.Header.Get("X-Event-Position"), 10, 64)
	if err != nil {
		t.Fatalf("X-Event-Position %q", res.Header.Get("X-Event-Position"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := env.App.Waiter.WaitFor(ctx, []string{"users"}, pos); err != nil {
		t.Fatal(err)
	}
}

type idProblem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Errors []struct {
		Field string `json:"field"`
	} `json:"errors"`
}

// idWant fails unless res has status and, when given, the problem code.
func idWant(t testing.TB, what string, res *apptest.Response, status int, code ...string) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, res.Status, status, res.Body)
	}
	if len(code) > 0 {
		var p idProblem
		res.Decode(t, &p)
		if p.Code != code[0] || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s: code %q (%s), want %q", what, p.Code, res.Header.Get("Content-Type"), code[0])
		}
	}
}

type idMe struct {
	ID            uuid.UUID `json:"id"`
	Email         string    `json:"email"`
	Name          string    `json:"name"`
	IsActive      bool      `json:"is_active"`
	IsStaff       bool      `json:"is_staff"`
	IsSuperuser   bool      `json:"is_superuser"`
	EmailVerified bool      `json:"email_verified"`
	Groups        []string  `json:"groups"`
	Permissions   []string  `json:"permissions"`
	CreatedAt     time.Time `json:"created_at"`
}

func TestIdentityRegisterVerifyLoginMe(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	email := testenv.Name("Ann") + "@Example.ORG"
	a := idRegister(t, env, email)
	if a.Email != strings.ToLower(email) || a.ID.Version() != 7 {
		t.Fatalf("registered %+v", a)
	}

	// Until verified, the right password is refused with its own code.
	idWant(t, "unverified login", idLogin(t, env, email, idPassword), 403, "email_not_verified")

	token := idVerifyToken(t, env, a.Email)
	res := env.Do("GET", "/api/v1/auth/verify?token="+token, nil)
	idWant(t, "verify link", res, 200)
	if res.Header.Get("X-Event-Position") == "" {
		t.Fatal("verify without X-Event-Position")
	}
	idWant(t, "verify twice", env.Do("POST", "/api/v1/auth/verify", map[string]string{"token": token}), 422, "validation_failed")
	idWant(t, "verify garbage", env.Do("GET", "/api/v1/auth/verify?token=nope", nil), 422, "validation_failed")

	idWant(t, "wrong password", idLogin(t, env, email, "wrong password!"), 401, "unauthenticated")
	res = idLogin(t, env, "  "+strings.ToUpper(email)+" ", idPassword)
	idWant(t, "login", res, 200)
	var login struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
		User      idMe      `json:"user"`
	}
	res.Decode(t, &login)
	if len(login.Token) != 43 || time.Until(login.ExpiresAt) < 23*time.Hour || login.User.ID != a.ID || !login.User.EmailVerified {
		t.Fatalf("login answer %+v", login)
	}

	res = env.Do("GET", "/api/v1/me", nil, apptest.Bearer(login.Token)...)
	idWant(t, "me", res, 200)
	var me idMe
	res.Decode(t, &me)
	if me.ID != a.ID || me.Email != a.Email || me.Name != "Name of "+email || me.IsStaff || me.IsSuperuser ||
		!slices.Equal(me.Groups, []string{"users"}) || me.Permissions == nil || len(me.Permissions) != 0 {
		t.Fatalf("me %+v", me)
	}

	// The password never reaches the event store.
	var leaks int
	if err := env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE data::text LIKE '%'||$1||'%'`, idPassword).Scan(&leaks); err != nil || leaks != 0 {
		t.Fatalf("password found in %d events (%v)", leaks, err)
	}

	idWant(t, "logout", env.Do("POST", "/api/v1/auth/logout", nil, apptest.Bearer(login.Token)...), 204)
	idWant(t, "me after logout", env.Do("GET", "/api/v1/me", nil, apptest.Bearer(login.Token)...), 401, "unauthenticated")
	idWant(t, "me anonymous", env.Do("GET", "/api/v1/me", nil), 401, "unauthenticated")
}

func TestIdentityDuplicateEmailAnyCase(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	email := testenv.Name("dup") + "@example.org"
	idRegister(t, env, email)
	res := env.Do("POST", "/api/v1/auth/register", map[string]string{"email": " " + strings.ToUpper(email), "password": idPassword, "name": "Other"})
	idWant(t, "duplicate", res, 409, "email_taken")
}

func TestIdentityConcurrentRegistrationMakesOneAccount(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	email := testenv.Name("race") + "@example.org"
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			e := email
			if i%2 == 1 {
				e = strings.ToUpper(email)
			}
			statuses[i] = env.Do("POST", "/api/v1/auth/register", map[string]string{"email": e, "password": idPassword, "name": fmt.Sprint("racer ", i)}).Status
		})
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case 201:
			created++
		case 409:
		default:
			t.Fatalf("statuses %v", statuses)
		}
	}
	var accounts int
	if err := env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE type = 'user.registered'`).Scan(&accounts); err != nil {
		t.Fatal(err)
	}
	if created != 1 || accounts != 1 {
		t.Fatalf("%d created, %d accounts; statuses %v", created, accounts, statuses)
	}
}

func TestIdentityBlockedUser(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	idGroups(t, env)
	root := idSuperuser(t, env)
	u := idVerified(t, env)
	idWant(t, "me before block", env.Do("GET", "/api/v1/me", nil, u.bearer()...), 200)

	res := env.Do("POST", "/api/v1/users/"+u.ID.String()+"/block", nil, root.bearer()...)
	idWant(t, "block", res, 200)
	var blocked idMe
	res.Decode(t, &blocked)
	if blocked.IsActive {
		t.Fatalf("blocked answer %+v", blocked)
	}
	// At once, without waiting for any projector.
	idWant(t, "old token", env.Do("GET", "/api/v1/me", nil, u.bearer()...), 401, "unauthenticated")
	idWant(t, "blocked login", idLogin(t, env, u.Email, idPassword), 403, "user_blocked")
	idWant(t, "blocked login, wrong password", idLogin(t, env, u.Email, "not the password"), 401, "unauthenticated")

	idWant(t, "block self", env.Do("POST", "/api/v1/users/"+root.ID.String()+"/block", nil, root.bearer()...), 409, "conflict")
	idWant(t, "stale If-Match", env.Do("POST", "/api/v1/users/"+u.ID.String()+"/activate", nil, append(root.bearer(), "If-Match", `"1"`)...), 409, "conflict")
	res = env.Do("POST", "/api/v1/users/"+u.ID.String()+"/activate", nil, root.bearer()...)
	idWant(t, "activate", res, 200)
	res = idLogin(t, env, u.Email, idPassword)
	idWant(t, "login after activate", res, 200)

	// The read model follows: GET /users/{id} with X-Min-Position.
	pos := env.Do("POST", "/api/v1/users/"+u.ID.String()+"/block", nil, root.bearer()...).Header.Get("X-Event-Position")
	res = env.Do("GET", "/api/v1/users/"+u.ID.String(), nil, append(root.bearer(), "X-Min-Position", pos)...)
	idWant(t, "get blocked user", res, 200)
	var view idMe
	res.Decode(t, &view)
	if view.IsActive || !view.EmailVerified || view.ID != u.ID {
		t.Fatalf("read model %+v", view)
	}
}

func TestIdentityLoginThrottling(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	u := idVerified(t, env)
	for i := range 5 {
		idWant(t, fmt.Sprint("failure ", i+1), idLogin(t, env, u.Email, "wrong password"), 401, "unauthenticated")
	}
	res := idLogin(t, env, u.Email, idPassword)
	idWant(t, "sixth attempt, right password", res, 429, "rate_limited")
	ra, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil || ra <= 0 || ra > 15*60 {
		t.Fatalf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	idWant(t, "any case is one email", idLogin(t, env, strings.ToUpper(u.Email), idPassword), 429, "rate_limited")

	// Per address: 20 failures over many emails from one address.
	other := idVerified(t, env)
	for range 15 { // 5 failures were counted above; successful logins do not count
		idWant(t, "address failure", idLogin(t, env, testenv.Name("nobody")+"@example.org", "wrong password"), 401)
	}
	res = idLogin(t, env, other.Email, idPassword)
	idWant(t, "address over its limit", res, 429, "rate_limited")
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
}

func TestIdentityPasswordReset(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	u := idVerified(t, env)
	idWant(t, "unknown email", env.Do("POST", "/api/v1/auth/password-reset", map[string]string{"email": "nobody@example.org"}), 202)
	idWant(t, "reset", env.Do("POST", "/api/v1/auth/password-reset", map[string]string{"email": strings.ToUpper(u.Email)}), 202)
	// A second request within the minute is refused (alike for an unknown email) and mails nothing.
	idWant(t, "reset again", env.Do("POST", "/api/v1/auth/password-reset", map[string]string{"email": u.Email}), 429, "rate_limited")
	m := idTokenLineRE.FindStringSubmatch(idMail(t, env, u.Email, "Reset", 0))
	if m == nil {
		t.Fatal("no token in the reset mail")
	}
	token := m[1]
	const newPassword = "a new password 123"
	idWant(t, "short password", env.Do("POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": token, "password": "short"}), 422, "validation_failed")
	idWant(t, "wrong token", env.Do("POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": strings.Repeat("A", 43), "password": newPassword}), 422, "validation_failed")
	res := env.Do("POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": token, "password": newPassword})
	idWant(t, "confirm", res, 200)
	idWant(t, "reuse", env.Do("POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": token, "password": newPassword}), 422, "validation_failed")
	idWant(t, "old session", env.Do("GET", "/api/v1/me", nil, u.bearer()...), 401, "unauthenticated")
	idWant(t, "old password", idLogin(t, env, u.Email, idPassword), 401, "unauthenticated")
	idWant(t, "new password", idLogin(t, env, u.Email, newPassword), 200)
	var resets int
	if err := env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE type = 'user.password_reset_requested'`).Scan(&resets); err != nil || resets != 1 {
		t.Fatalf("%d reset tokens issued, want 1 (%v)", resets, err)
	}
}

func TestIdentityBadBodiesNeverCreateAccounts(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	email := testenv.Name("bad") + "@example.org"
	big := `{"email":"` + email + `","password":"` + idPassword + `","name":"` + strings.Repeat("x", 1<<20) + `"}`
	cases := []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"malformed", "/api/v1/auth/register", `{"email": "` + email + `",`, 400, "malformed_json"},
		{"not an object", "/api/v1/auth/register", `[1,2]`, 400, "malformed_json"},
		{"empty", "/api/v1/auth/register", ``, 400, "malformed_json"},
		{"unknown field", "/api/v1/auth/register", `{"email":"` + email + `","password":"` + idPassword + `","name":"N","is_superuser":true}`, 400, "malformed_json"},
		{"wrong type", "/api/v1/auth/register", `{"email":"` + email + `","password":12345678,"name":"N"}`, 400, "malformed_json"},
		{"oversized", "/api/v1/auth/register", big, 413, "payload_too_large"},
		{"bad email", "/api/v1/auth/register", `{"email":"not-an-email","password":"` + idPassword + `","name":"N"}`, 422, "validation_failed"},
		{"short password", "/api/v1/auth/register", `{"email":"` + email + `","password":"short","name":"N"}`, 422, "validation_failed"},
		{"long password", "/api/v1/auth/register", `{"email":"` + email + `","password":"` + strings.Repeat("p", 129) + `","name":"N"}`, 422, "validation_failed"},
		{"blank name", "/api/v1/auth/register", `{"email":"` + email + `","password":"` + idPassword + `","name":"   "}`, 422, "validation_failed"},
		{"missing fields", "/api/v1/auth/register", `{}`, 422, "validation_failed"},
		{"login wrong type", "/api/v1/auth/login", `{"email":true,"password":"x"}`, 400, "malformed_json"},
		{"login unknown field", "/api/v1/auth/login", `{"email":"a@b.c","password":"x","remember":true}`, 400, "malformed_json"},
		{"verify empty token", "/api/v1/auth/verify", `{"token":""}`, 422, "validation_failed"},
		{"reset missing email", "/api/v1/auth/password-reset", `{}`, 422, "validation_failed"},
		{"confirm wrong type", "/api/v1/auth/password-reset/confirm", `{"token":1,"password":"x"}`, 400, "malformed_json"},
	}
	for _, c := range cases {
		res := env.Do("POST", c.path, c.body)
		idWant(t, c.name, res, c.status, c.code)
	}
	var n int
	if err := env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d events written by refused requests (%v)", n, err)
	}
	if res := env.Do("GET", "/api/v1/users/not-a-uuid", nil); res.Status != http.StatusUnauthorized {
		t.Fatalf("anonymous users/{id}: %d", res.Status)
	}
}

func TestIdentityGroupsMakeStaff(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	idGroups(t, env)
	root := idSuperuser(t, env)
	u := idVerified(t, env)
	idWant(t, "unknown group", env.Do("PUT", "/api/v1/users/"+u.ID.String()+"/groups", map[string]any{"groups": []string{"users", "ghosts"}}, root.bearer()...), 422, "validation_failed")
	idWant(t, "groups wrong type", env.Do("PUT", "/api/v1/users/"+u.ID.String()+"/groups", map[string]any{"groups": "managers"}, root.bearer()...), 400, "malformed_json")
	res := env.Do("PUT", "/api/v1/users/"+u.ID.String()+"/groups", map[string]any{"groups": []string{"users", "managers"}}, root.bearer()...)
	idWant(t, "set groups", res, 200)
	var v idMe
	res.Decode(t, &v)
	if !v.IsStaff || !slices.Contains(v.Permissions, "users.toggle") {
		t.Fatalf("after managers: %+v", v)
	}
	idWaitUsers(t, env, res)
	// The same token now carries staff rights: the user list opens.
	res = env.Do("GET", "/api/v1/users?limit=1", nil, u.bearer()...)
	idWant(t, "staff list", res, 200)
	var page struct {
		Items      []idMe  `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	res.Decode(t, &page)
	if len(page.Items) != 1 || page.NextCursor == nil {
		t.Fatalf("page 1: %s", res.Body)
	}
	seen := map[uuid.UUID]bool{page.Items[0].ID: true}
	for page.NextCursor != nil {
		res = env.Do("GET", "/api/v1/users?limit=1&cursor="+*page.NextCursor, nil, u.bearer()...)
		idWant(t, "next page", res, 200)
		page.Items, page.NextCursor = nil, nil
		res.Decode(t, &page)
		for _, it := range page.Items {
			seen[it.ID] = true
		}
	}
	if len(seen) != 2 || !seen[root.ID] || !seen[u.ID] {
		t.Fatalf("listed %v", seen)
	}
	idWant(t, "bad cursor", env.Do("GET", "/api/v1/users?cursor=zzz", nil, u.bearer()...), 422, "validation_failed")
}

// With no projector running the users read model stays empty: a new account
// still verifies, logs in, authenticates and reads itself (from its events),
// and a block still ends its session at once.
func TestIdentityWorksBeforeTheReadModel(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles()) // no projector
	u := idVerified(t, env)
	res := env.Do("GET", "/api/v1/me", nil, u.bearer()...)
	idWant(t, "me", res, 200)
	idWant(t, "own user", env.Do("GET", "/api/v1/users/"+u.ID.String(), nil, u.bearer()...), 200)
	var rows int
	if err := env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("users read model has %d rows (%v); this test needs it empty", rows, err)
	}
	root := idSuperuser(t, env)
	idWant(t, "block", env.Do("POST", "/api/v1/users/"+u.ID.String()+"/block", nil, root.bearer()...), 200)
	idWant(t, "me after block", env.Do("GET", "/api/v1/me", nil, u.bearer()...), 401, "unauthenticated")
}
