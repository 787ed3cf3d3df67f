package http_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// idParallelLogins sends n logins at once from ip, email(i) with a wrong
// password, and counts the answers by status. Every 429 carries a
// Retry-After within the window.
func idParallelLogins(t *testing.T, env *apptest.Env, ip string, n int, email func(i int) string) map[int]int {
	t.Helper()
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		wg     sync.WaitGroup
		start  = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			res := env.DoFrom(ip, "POST", "/api/v1/auth/login", map[string]string{"email": email(i), "password": "wrong password"})
			if res.Status == 429 {
				if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra <= 0 || ra > 15*60 {
					t.Errorf("429 with Retry-After %q", res.Header.Get("Retry-After"))
				}
			}
			mu.Lock()
			counts[res.Status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return counts
}

// Each attempt is counted before its password is checked: of many parallel
// wrong guesses no more than the limit are heard (401), the rest are
// refused (429) — for one account (limit 5) and over many accounts from
// one address (limit 20).
func TestIdentityParallelGuessesMeetTheLimit(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles())
	u := idVerified(t, env)
	const n = 60
	got := idParallelLogins(t, env, "127.0.0.2", n, func(int) string { return u.Email })
	if got[401] > 5 || got[401] == 0 || got[401]+got[429] != n {
		t.Fatalf("%d parallel guesses at one account: %v, want at most 5 heard (401) and the rest 429", n, got)
	}
	got = idParallelLogins(t, env, "127.0.0.3", n, func(i int) string { return fmt.Sprintf("nobody%d-%s@example.org", i, testenv.Name("p")) })
	if got[401] > 20 || got[401] == 0 || got[401]+got[429] != n {
		t.Fatalf("%d parallel guesses from one address: %v, want at most 20 heard (401) and the rest 429", n, got)
	}
}

// A guesser cannot lock an account's owner out: once the account has taken
// its wrong passwords, the guesser's address is refused (even with the
// right password), while an address that has not failed on the account is
// still heard — the owner gets in; a new guesser gets one guess.
func TestIdentityGuesserCannotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles())
	u := idVerified(t, env)
	login := func(ip, pw string) *apptest.Response {
		return env.DoFrom(ip, "POST", "/api/v1/auth/login", map[string]string{"email": u.Email, "password": pw})
	}
	const guesser, owner, another = "127.0.0.2", "127.0.0.3", "127.0.0.4"
	for i := range 5 {
		idWant(t, fmt.Sprint("guess ", i+1), login(guesser, "wrong password"), 401, "unauthenticated")
	}
	res := login(guesser, "wrong password")
	idWant(t, "the guesser, over the account's limit", res, 429, "rate_limited")
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	idWant(t, "the guesser with the right password", login(guesser, idPassword), 429, "rate_limited")

	idWant(t, "the owner from a clean address", login(owner, idPassword), 200)
	idWant(t, "the owner again", login(owner, idPassword), 200)

	idWant(t, "another guesser's first guess", login(another, "wrong password"), 401, "unauthenticated")
	idWant(t, "another guesser's second guess", login(another, "wrong password"), 429, "rate_limited")
	idWant(t, "the guesser still", login(guesser, idPassword), 429, "rate_limited")
}

// Registrations and password reset requests are bounded per client address
// (ACCOUNT_MAIL_ADDR_LIMIT an hour) and per recipient (one mail of a kind a
// minute), alike for emails with and without an account; refusals are 429
// with Retry-After.
func TestIdentityAccountMailsThrottled(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles(), apptest.WithEnv("ACCOUNT_MAIL_ADDR_LIMIT", "3"))
	reset := func(ip, email string) *apptest.Response {
		return env.DoFrom(ip, "POST", "/api/v1/auth/password-reset", map[string]string{"email": email})
	}
	register := func(ip, email string) *apptest.Response {
		return env.DoFrom(ip, "POST", "/api/v1/auth/register", map[string]string{"email": email, "password": idPassword, "name": "Ann"})
	}
	known := testenv.Name("known") + "@example.org"
	idWant(t, "register", register("127.0.0.2", known), 201)
	idWant(t, "reset, known email", reset("127.0.0.2", known), 202)
	idWant(t, "reset, unknown email", reset("127.0.0.2", testenv.Name("nobody")+"@example.org"), 202)
	for what, res := range map[string]*apptest.Response{
		"fourth request of an address, a registration": register("127.0.0.2", testenv.Name("new")+"@example.org"),
		"fourth request of an address, a reset":        reset("127.0.0.2", testenv.Name("nobody")+"@example.org"),
	} {
		idWant(t, what, res, 429, "rate_limited")
		if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra <= 0 || ra > 3600 {
			t.Fatalf("%s: Retry-After %q", what, res.Header.Get("Retry-After"))
		}
	}
	// Per recipient, from a fresh address: the same answer with and without an account.
	idWant(t, "reset of a recipient mailed a reset a minute ago", reset("127.0.0.3", strings.ToUpper(known)), 429, "rate_limited")
	unknown := testenv.Name("nobody") + "@example.org"
	idWant(t, "reset, unknown", reset("127.0.0.3", unknown), 202)
	idWant(t, "reset, unknown again", reset("127.0.0.3", unknown), 429, "rate_limited")
}

// What a caller types never reaches the account mails: the name given at
// registration (up to 255 characters, line breaks allowed) is in neither
// the body nor the header of the verification mail.
func TestIdentityMailsCarryNoCallerText(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles())
	email := testenv.Name("name") + "@example.org"
	const name = "Claim your prize\nat https://prize.example now"
	idWant(t, "register", env.Do("POST", "/api/v1/auth/register", map[string]string{"email": email, "password": idPassword, "name": name}), 201)
	idMail(t, env, email, "Confirm", 0)
	msgs, err := env.Sink.Messages()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		for _, part := range append([]string{m.Body, m.To, m.Subject}, m.Header["To"]...) {
			if strings.Contains(part, "prize") {
				t.Fatalf("the mail to %s carries the caller's text: %q", email, part)
			}
		}
	}
}

// A password reset request is answered before the account is looked up,
// its token recorded or its mail sent: the answer comes while the event
// store cannot take the token, and the mail once it can.
func TestIdentityPasswordResetAnswersBeforeTheWork(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.WithRoles())
	u := idVerified(t, env)

	ctx := context.Background()
	tx, err := env.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	release := sync.OnceFunc(func() { _ = tx.Rollback(ctx) })
	t.Cleanup(release)
	if _, err := tx.Exec(ctx, `LOCK TABLE events IN EXCLUSIVE MODE`); err != nil { // reads go on, appends wait
		t.Fatal(err)
	}
	answered := make(chan int, 1)
	go func() {
		answered <- env.Do("POST", "/api/v1/auth/password-reset", map[string]string{"email": u.Email}).Status
	}()
	var status int
	testenv.Eventually(t, 10*time.Second, "the answer while no event can be appended", func() bool {
		select {
		case status = <-answered:
			return true
		default:
			return false
		}
	})
	if status != 202 {
		t.Fatalf("status %d, want 202", status)
	}
	release()
	if m := idTokenLineRE.FindStringSubmatch(idMail(t, env, u.Email, "Reset", 0)); m == nil {
		t.Fatal("no token in the reset mail")
	}
}
