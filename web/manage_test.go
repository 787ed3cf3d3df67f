package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/internal/app"
	"github.com/heraldmail/herald/internal/apptest"
	"github.com/heraldmail/herald/internal/password"
	"github.com/heraldmail/herald/internal/testenv"
	"github.com/heraldmail/herald/projections"
)

const managePassword = "correct horse battery"

// manageMailingBody is a weekly mailing starting tomorrow, as POST
// /api/v1/mailings takes it.
func manageMailingBody(messageID uuid.UUID, clients ...uuid.UUID) map[string]any {
	start := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	return map[string]any{"message_id": messageID, "client_ids": clients, "start_at": start.Format(time.RFC3339),
		"end_at": start.Add(30 * 24 * time.Hour).Format(time.RFC3339), "periodicity": "weekly", "timezone": "Europe/Paris"}
}

// manageEnv are the accounts of a managers' pages test.
type manageEnv struct {
	env *apptest.Env
	// manager is in managers and holds users.toggle; viewer is in managers
	// without it; plain is in no staff group; root is a superuser.
	manager, viewer, plain, root apptest.Account
}

// cookie is the session cookie of a.
func manageCookie(a apptest.Account) string { return "herald_session=" + a.Token }

// startManage starts the application with the default groups (managers
// without users.toggle, which a group of its own adds) and the accounts.
func startManage(t *testing.T) *manageEnv {
	t.Helper()
	env := apptest.Start(t, apptest.WithRoles(app.RoleProjector))
	ctx := context.Background()
	meta := domain.Metadata{CorrelationID: uuid.New(), Command: "test-setup"}
	groups, err := commands.NewGroupHandler(env.App.Store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := groups.CreateDefaultGroups(ctx, meta); err != nil {
		t.Fatal(err)
	}
	var noToggle []string
	for _, p := range domain.DefaultGroups()[domain.GroupManagers] {
		if p != domain.PermUsersToggle {
			noToggle = append(noToggle, p)
		}
	}
	if _, _, err := groups.EnsureGroup(ctx, meta, domain.GroupManagers, noToggle); err != nil {
		t.Fatal(err)
	}
	if _, _, err := groups.EnsureGroup(ctx, meta, "user_togglers", []string{domain.PermUsersToggle}); err != nil {
		t.Fatal(err)
	}
	q, err := projections.NewUserQueries(env.Pool)
	if err != nil {
		t.Fatal(err)
	}
	users, err := commands.NewUserHandler(env.App.Store, q, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	s := &manageEnv{env: env}
	signUp := func() apptest.Account {
		return apptest.SignUp(env, testenv.Name("web")+"@example.com", managePassword)
	}
	s.manager, s.viewer, s.plain = signUp(), signUp(), signUp()
	var last int64
	for a, gs := range map[uuid.UUID][]string{
		s.manager.ID: {domain.GroupUsers, domain.GroupManagers, "user_togglers"},
		s.viewer.ID:  {domain.GroupUsers, domain.GroupManagers},
	} {
		_, res, err := users.SetGroups(ctx, meta, a, gs, commands.NoIfMatch)
		if err != nil {
			t.Fatal(err)
		}
		last = max(last, res.LastPosition)
	}
	s.root = manageSuperuser(t, env, users)
	manageWaitUsers(t, env, last)
	return s
}

// superuser creates a superuser as `herald create-superuser` does and
// logs in.
func manageSuperuser(t *testing.T, env *apptest.Env, users *commands.UserHandler) apptest.Account {
	t.Helper()
	h, err := password.New(password.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash(managePassword)
	if err != nil {
		t.Fatal(err)
	}
	email := testenv.Name("root") + "@example.com"
	u, _, err := users.CreateSuperuser(context.Background(), domain.Metadata{Command: "create-superuser"},
		domain.NewAccount{Email: email, Name: "Root", PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return apptest.Account{ID: u.ID(), Email: email, Token: manageLogin(t, env, email)}
}

// apiLogin logs email in through the API and returns the session token.
func manageLogin(t *testing.T, env *apptest.Env, email string) string {
	t.Helper()
	res := env.Do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": managePassword})
	var l struct {
		Token string `json:"token"`
	}
	res.Decode(t, &l)
	if res.Status != http.StatusOK || l.Token == "" {
		t.Fatalf("login %s: %d %s", email, res.Status, res.Body)
	}
	return l.Token
}

func manageWaitUsers(t *testing.T, env *apptest.Env, position int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := env.App.Waiter.WaitFor(ctx, []string{"users"}, position); err != nil {
		t.Fatal(err)
	}
}

// buttonForm is the hidden version and back fields of the form posting to
// action on a page, as the browser would send them.
func manageButton(t *testing.T, body, action string) url.Values {
	t.Helper()
	re := regexp.MustCompile(`action="` + regexp.QuoteMeta(action) + `">\s*<input type="hidden" name="version" value="(\d+)"><input type="hidden" name="back" value="([^"]*)">`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form posting to %s on the page: %q", action, body)
	}
	return url.Values{"version": {m[1]}, "back": {html.UnescapeString(m[2])}}
}

// manageAPIUser is an account as GET /api/v1/users/{id} shows it.
type manageAPIUser struct {
	IsActive bool     `json:"is_active"`
	IsStaff  bool     `json:"is_staff"`
	Groups   []string `json:"groups"`
}

func (s *manageEnv) user(t *testing.T, id uuid.UUID) manageAPIUser {
	t.Helper()
	var u manageAPIUser
	res := s.env.Do("GET", "/api/v1/users/"+id.String(), nil, apptest.Bearer(s.root.Token)...)
	res.Decode(t, &u)
	return u
}

// A manager lists and searches the accounts, blocks one, which then cannot
// sign in, and activates it again; the core's rules come back as flashes.
func TestManageUsers(t *testing.T) {
	t.Parallel()
	s := startManage(t)
	env := s.env
	target := apptest.SignUp(env, testenv.Name("web")+"@example.com", managePassword)
	mgr := manageCookie(s.manager)
	users := "/manage/users?q=" + url.QueryEscape(target.Email)

	t.Run("anonymous visitors go to the login page", func(t *testing.T) {
		res, _ := get(t, env, "/manage/users")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fmanage%2Fusers" {
			t.Errorf("GET /manage/users: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
	})

	var body string
	testenv.Eventually(t, 30*time.Second, "the new account in the list", func() bool {
		_, body = get(t, env, "/manage/users", "Cookie", mgr)
		return strings.Contains(body, target.Email)
	})
	for _, a := range []apptest.Account{s.manager, s.viewer, s.plain, s.root} {
		if !strings.Contains(body, `id="user-`+a.ID.String()+`"`) {
			t.Errorf("the list lacks %s", a.Email)
		}
	}
	if !strings.Contains(body, `id="block-`+target.ID.String()+`"`) || strings.Contains(body, `id="manage-`) {
		t.Fatalf("a manager with users.toggle sees Block buttons and no managers buttons: %q", body)
	}

	t.Run("search keeps the accounts whose email or name contains q", func(t *testing.T) {
		_, body := get(t, env, "/manage/users?q="+url.QueryEscape(strings.ToUpper(target.Email)), "Cookie", mgr)
		if !strings.Contains(body, target.Email) || strings.Contains(body, s.plain.Email) || !strings.Contains(body, `id="user-`) {
			t.Errorf("q=<target's email>: %q", body)
		}
		_, body = get(t, env, "/manage/users?q=nobody-has-this", "Cookie", mgr)
		if !strings.Contains(body, `id="users-empty"`) || !strings.Contains(body, `value="nobody-has-this"`) {
			t.Errorf("q=nobody-has-this: %q", body)
		}
	})

	t.Run("a manager without users.toggle sees no Block button and is refused", func(t *testing.T) {
		res, body := get(t, env, "/manage/users", "Cookie", manageCookie(s.viewer))
		if res.StatusCode != http.StatusOK || !strings.Contains(body, target.Email) || strings.Contains(body, `id="block-`) ||
			strings.Contains(body, `/block"`) {
			t.Fatalf("the viewer's list: %d %q", res.StatusCode, body)
		}
		res, body = postForm(t, env, "/manage/users/"+target.ID.String()+"/block", nil, manageCookie(s.viewer))
		if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "Not allowed") {
			t.Errorf("the viewer's block: %d %q", res.StatusCode, body)
		}
		if !s.user(t, target.ID).IsActive {
			t.Fatal("the viewer blocked the account")
		}
	})

	t.Run("a manager blocks an account, which then cannot sign in", func(t *testing.T) {
		_, page := get(t, env, users, "Cookie", mgr)
		f := manageButton(t, page, "/manage/users/"+target.ID.String()+"/block")
		if f.Get("back") != users {
			t.Fatalf("the form returns to %q", f.Get("back"))
		}
		res, _ := postForm(t, env, "/manage/users/"+target.ID.String()+"/block", f, mgr)
		body := landOn(t, env, res, users, mgr)
		if !strings.Contains(body, "Account blocked") || !strings.Contains(body, `id="activate-`+target.ID.String()+`"`) ||
			!strings.Contains(body, "Blocked") {
			t.Fatalf("the list after blocking: %q", body)
		}
		if s.user(t, target.ID).IsActive {
			t.Fatal("the API shows the account active")
		}
		// Its session ended with the block.
		if res, _ := get(t, env, "/dashboard", "Cookie", manageCookie(target)); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the blocked account's session still opens the dashboard: %d", res.StatusCode)
		}
		res, body = postForm(t, env, "/login", url.Values{"email": {target.Email}, "password": {managePassword}}, "")
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "This account is blocked.") {
			t.Fatalf("the blocked account's login: %d %q", res.StatusCode, body)
		}

		// The same form again, now stale: refused, not undone.
		res, _ = postForm(t, env, "/manage/users/"+target.ID.String()+"/activate", f, mgr)
		if body := landOn(t, env, res, users, mgr); !strings.Contains(body, "changed meanwhile") {
			t.Errorf("a stale activate: %q", body)
		}
		if s.user(t, target.ID).IsActive {
			t.Fatal("a stale activate went through")
		}
	})

	t.Run("the core's rules come back as flashes", func(t *testing.T) {
		res, _ := postForm(t, env, "/manage/users/"+s.manager.ID.String()+"/block", url.Values{"back": {"/manage/users"}}, mgr)
		if body := landOn(t, env, res, "/manage/users", mgr); !strings.Contains(body, "You cannot block your own account.") {
			t.Errorf("blocking oneself: %q", body)
		}
		res, _ = postForm(t, env, "/manage/users/"+s.root.ID.String()+"/block", url.Values{"back": {"/manage/users"}}, mgr)
		if body := landOn(t, env, res, "/manage/users", mgr); !strings.Contains(body, "Only a superuser blocks or activates a superuser.") {
			t.Errorf("blocking a superuser: %q", body)
		}
		if !s.user(t, s.root.ID).IsActive || !s.user(t, s.manager.ID).IsActive {
			t.Fatal("a refused block went through")
		}
		res, _ = postForm(t, env, "/manage/users/"+uuid.NewString()+"/block", nil, mgr)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("blocking no account: %d", res.StatusCode)
		}
		// A back that leaves the site is not followed.
		res, _ = postForm(t, env, "/manage/users/"+s.manager.ID.String()+"/block", url.Values{"back": {"https://evil.example/"}}, mgr)
		if res.Header.Get("Location") != "/manage/users" {
			t.Errorf("back to another site: %q", res.Header.Get("Location"))
		}
	})

	t.Run("a manager activates the account again", func(t *testing.T) {
		_, page := get(t, env, users, "Cookie", mgr)
		f := manageButton(t, page, "/manage/users/"+target.ID.String()+"/activate")
		res, _ := postForm(t, env, "/manage/users/"+target.ID.String()+"/activate", f, mgr)
		body := landOn(t, env, res, users, mgr)
		if !strings.Contains(body, "Account activated") || !strings.Contains(body, `id="block-`+target.ID.String()+`"`) {
			t.Fatalf("the list after activating: %q", body)
		}
		res, _ = postForm(t, env, "/login", url.Values{"email": {target.Email}, "password": {managePassword}}, "")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/dashboard" {
			t.Fatalf("the activated account's login: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
	})

	t.Run("a superuser makes an account a manager and takes it back", func(t *testing.T) {
		root := manageCookie(s.root)
		token := manageLogin(t, env, target.Email)
		if res, _ := get(t, env, "/manage/users", "Cookie", "herald_session="+token); res.StatusCode != http.StatusForbidden {
			t.Fatalf("not yet a manager: %d", res.StatusCode)
		}
		_, page := get(t, env, users, "Cookie", root)
		if !strings.Contains(page, `id="manage-`+target.ID.String()+`"`) {
			t.Fatalf("the superuser sees no managers button: %q", page)
		}
		f := manageButton(t, page, "/manage/users/"+target.ID.String()+"/groups")
		f.Set("add", domain.GroupManagers)
		res, _ := postForm(t, env, "/manage/users/"+target.ID.String()+"/groups", f, root)
		body := landOn(t, env, res, users, root)
		if !strings.Contains(body, "Groups changed.") || !strings.Contains(body, `id="unmanage-`+target.ID.String()+`"`) {
			t.Fatalf("the list after adding to managers: %q", body)
		}
		if u := s.user(t, target.ID); !u.IsStaff || !slices.Contains(u.Groups, domain.GroupManagers) || !slices.Contains(u.Groups, domain.GroupUsers) {
			t.Fatalf("the API shows %+v", u)
		}
		if res, _ := get(t, env, "/manage/users", "Cookie", "herald_session="+token); res.StatusCode != http.StatusOK {
			t.Errorf("the new manager's list: %d", res.StatusCode)
		}

		// Managers may not change groups.
		if res, _ := postForm(t, env, "/manage/users/"+s.plain.ID.String()+"/groups", url.Values{"add": {"managers"}}, mgr); res.StatusCode != http.StatusForbidden {
			t.Errorf("a manager adds to managers: %d", res.StatusCode)
		}
		if s.user(t, s.plain.ID).IsStaff {
			t.Fatal("a manager made a manager")
		}
		res, _ = postForm(t, env, "/manage/users/"+target.ID.String()+"/groups", url.Values{"add": {"no_such_group"}, "back": {users}}, root)
		if body := landOn(t, env, res, users, root); !strings.Contains(body, "This group does not exist") {
			t.Errorf("an unknown group: %q", body)
		}

		_, page = get(t, env, users, "Cookie", root)
		f = manageButton(t, page, "/manage/users/"+target.ID.String()+"/groups")
		f.Set("remove", domain.GroupManagers)
		res, _ = postForm(t, env, "/manage/users/"+target.ID.String()+"/groups", f, root)
		landOn(t, env, res, users, root)
		if u := s.user(t, target.ID); u.IsStaff || !slices.Equal(u.Groups, []string{domain.GroupUsers}) {
			t.Fatalf("after taking it out of managers the API shows %+v", u)
		}
		if res, _ := get(t, env, "/manage/users", "Cookie", "herald_session="+token); res.StatusCode != http.StatusForbidden {
			t.Errorf("no longer a manager: %d", res.StatusCode)
		}
	})
}

// A plain user is refused every managers' page and action.
func TestManagePagesRefusePlainUsers(t *testing.T) {
	t.Parallel()
	s := startManage(t)
	env := s.env
	plain := manageCookie(s.plain)
	msg := env.Create(s.plain.Token, "/api/v1/messages", map[string]any{"subject": "News", "body": "Hello"})
	cl := env.Create(s.plain.Token, "/api/v1/clients", map[string]any{"email": "reader@example.org", "full_name": "Reader"})
	ml := env.Create(s.plain.Token, "/api/v1/mailings", manageMailingBody(msg, cl))

	for _, p := range []string{"/manage/users", "/manage/mailings", "/manage/reports", "/manage/mailings?owner=" + s.plain.Email} {
		res, body := get(t, env, p, "Cookie", plain)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "Not allowed") || strings.Contains(body, s.manager.Email) {
			t.Errorf("GET %s: %d %q", p, res.StatusCode, body)
		}
		if strings.Contains(body, `href="/manage/users"`) {
			t.Errorf("GET %s: the menu offers the managers' pages to a plain user", p)
		}
	}
	for _, p := range []string{
		"/manage/users/" + s.manager.ID.String() + "/block",
		"/manage/users/" + s.plain.ID.String() + "/activate",
		"/manage/users/" + s.plain.ID.String() + "/groups",
		"/manage/mailings/" + ml.String() + "/disable",
		"/manage/mailings/" + ml.String() + "/enable",
	} {
		if res, _ := postForm(t, env, p, url.Values{"add": {"managers"}}, plain); res.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s: %d", p, res.StatusCode)
		}
	}
	if s.user(t, s.plain.ID).IsStaff || !s.user(t, s.manager.ID).IsActive {
		t.Fatal("a plain user's post changed an account")
	}
	var m struct {
		IsActive bool `json:"is_active"`
	}
	// The read model may not show the new mailing yet: a 404 is no answer.
	testenv.Eventually(t, 30*time.Second, "the mailing in the read model", func() bool {
		res := env.Do("GET", "/api/v1/mailings/"+ml.String(), nil, apptest.Bearer(s.plain.Token)...)
		if res.Status != http.StatusOK {
			return false
		}
		res.Decode(t, &m)
		return true
	})
	if !m.IsActive {
		t.Fatal("a plain user's post to /manage disabled the mailing")
	}
}

// A manager sees everyone's mailings, narrows them by owner and status,
// and disables and enables another user's mailing; the reports page sums
// everyone's mailings and links the CSV export.
func TestManageMailingsAndReports(t *testing.T) {
	t.Parallel()
	s := startManage(t)
	env := s.env
	mgr := manageCookie(s.manager)
	msg := env.Create(s.plain.Token, "/api/v1/messages", map[string]any{"subject": "News", "body": "Hello"})
	cl := env.Create(s.plain.Token, "/api/v1/clients", map[string]any{"email": "reader@example.org", "full_name": "Reader"})
	ml := env.Create(s.plain.Token, "/api/v1/mailings", manageMailingBody(msg, cl))
	ownMsg := env.Create(s.manager.Token, "/api/v1/messages", map[string]any{"subject": "Mine", "body": "Hi"})
	ownCl := env.Create(s.manager.Token, "/api/v1/clients", map[string]any{"email": "mine@example.org", "full_name": "Mine"})
	own := env.Create(s.manager.Token, "/api/v1/mailings", manageMailingBody(ownMsg, ownCl))
	row, ownRow := `id="mailing-`+ml.String()+`"`, `id="mailing-`+own.String()+`"`

	var body string
	testenv.Eventually(t, 30*time.Second, "both mailings in the list", func() bool {
		_, body = get(t, env, "/manage/mailings", "Cookie", mgr)
		return strings.Contains(body, row) && strings.Contains(body, ownRow)
	})
	if !strings.Contains(body, s.plain.Email) || !strings.Contains(body, `href="/mailings/`+ml.String()+`"`) ||
		!strings.Contains(body, `id="disable-`+ml.String()+`"`) || !strings.Contains(body, "Weekly from") {
		t.Fatalf("the list of all mailings: %q", body)
	}

	t.Run("filters", func(t *testing.T) {
		for filter, want := range map[string][2]bool{
			"owner=" + url.QueryEscape(strings.ToUpper(s.plain.Email)):    {true, false},
			"owner=" + s.manager.ID.String():                              {false, true},
			"status=created":                                              {true, true},
			"status=completed":                                            {false, false},
			"owner=" + url.QueryEscape(s.plain.Email) + "&status=started": {false, false},
		} {
			_, body := get(t, env, "/manage/mailings?"+filter, "Cookie", mgr)
			if strings.Contains(body, row) != want[0] || strings.Contains(body, ownRow) != want[1] {
				t.Errorf("%s: the plain user's shown %v, the manager's %v", filter, strings.Contains(body, row), strings.Contains(body, ownRow))
			}
		}
		_, body := get(t, env, "/manage/mailings?owner=nobody%40example.com", "Cookie", mgr)
		if !strings.Contains(body, `id="owner-unknown"`) || strings.Contains(body, row) || !strings.Contains(body, `value="nobody@example.com"`) {
			t.Errorf("an unknown owner: %q", body)
		}
	})

	t.Run("a manager disables and enables another user's mailing", func(t *testing.T) {
		list := "/manage/mailings?owner=" + url.QueryEscape(s.plain.Email)
		_, page := get(t, env, list, "Cookie", mgr)
		f := manageButton(t, page, "/manage/mailings/"+ml.String()+"/disable")
		res, _ := postForm(t, env, "/manage/mailings/"+ml.String()+"/disable", f, mgr)
		body := landOn(t, env, res, list, mgr)
		if !strings.Contains(body, "Mailing disabled.") || !strings.Contains(body, `id="enable-`+ml.String()+`"`) {
			t.Fatalf("the list after disabling: %q", body)
		}
		var m struct {
			IsActive bool `json:"is_active"`
		}
		env.Do("GET", "/api/v1/mailings/"+ml.String(), nil, apptest.Bearer(s.plain.Token)...).Decode(t, &m)
		if m.IsActive {
			t.Fatal("the API shows the mailing enabled")
		}
		// The page's version is stale now.
		res, _ = postForm(t, env, "/manage/mailings/"+ml.String()+"/enable", f, mgr)
		if body := landOn(t, env, res, list, mgr); !strings.Contains(body, "changed meanwhile") {
			t.Errorf("a stale enable: %q", body)
		}
		_, page = get(t, env, list, "Cookie", mgr)
		f = manageButton(t, page, "/manage/mailings/"+ml.String()+"/enable")
		res, _ = postForm(t, env, "/manage/mailings/"+ml.String()+"/enable", f, mgr)
		if body := landOn(t, env, res, list, mgr); !strings.Contains(body, "Mailing enabled.") {
			t.Fatalf("the list after enabling: %q", body)
		}
		env.Do("GET", "/api/v1/mailings/"+ml.String(), nil, apptest.Bearer(s.plain.Token)...).Decode(t, &m)
		if !m.IsActive {
			t.Fatal("the API shows the mailing disabled")
		}
		if res, _ := postForm(t, env, "/manage/mailings/"+uuid.NewString()+"/disable", nil, mgr); res.StatusCode != http.StatusNotFound {
			t.Errorf("disabling no mailing: %d", res.StatusCode)
		}
	})

	t.Run("the reports page covers everyone's mailings", func(t *testing.T) {
		var body string
		testenv.Eventually(t, 30*time.Second, "both mailings' reports", func() bool {
			_, body = get(t, env, "/manage/reports", "Cookie", mgr)
			return strings.Contains(body, `id="report-`+ml.String()+`"`) && strings.Contains(body, `id="report-`+own.String()+`"`)
		})
		if !strings.Contains(body, `href="/reports/mailings.csv"`) || !strings.Contains(body, s.plain.Email) {
			t.Fatalf("the reports page: %q", body)
		}
		_, body = get(t, env, "/manage/reports?owner="+url.QueryEscape(s.plain.Email), "Cookie", mgr)
		if !strings.Contains(body, `id="report-`+ml.String()+`"`) || strings.Contains(body, `id="report-`+own.String()+`"`) {
			t.Errorf("the reports of one owner: %q", body)
		}
	})
}
