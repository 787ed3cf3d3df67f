package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/testenv"
)

// A session used goes on working; left unused past SESSION_IDLE_TIMEOUT it
// ends, though its absolute lifetime (TOKEN_TTL) has not passed, and the
// browser is sent to the login page.
func TestSessionEndsWhenIdle(t *testing.T) {
	t.Parallel()
	const idle = 3 * time.Second
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector), apptest.WithEnv("SESSION_IDLE_TIMEOUT", idle.String()))
	a := apptest.SignUp(env, testenv.Name("idle")+"@example.com", "correct horse battery")
	cookie := "herald_session=" + a.Token

	if res, _ := get(t, env, "/dashboard", "Cookie", cookie); res.StatusCode != http.StatusOK {
		t.Fatalf("a fresh session: %d", res.StatusCode)
	}
	// Nothing uses the session for longer than the idle timeout.
	time.Sleep(idle + time.Second)
	res, _ := get(t, env, "/dashboard", "Cookie", cookie)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fdashboard" {
		t.Fatalf("an idle session: %d %q, want the login page", res.StatusCode, res.Header.Get("Location"))
	}
	cleared := false
	for _, c := range res.Cookies() {
		cleared = cleared || c.Name == "herald_session" && c.MaxAge < 0
	}
	if !cleared {
		t.Errorf("the idle session's cookie was not dropped: %v", res.Header.Values("Set-Cookie"))
	}
}
