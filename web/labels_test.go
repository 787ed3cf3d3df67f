package web

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/heraldmail/herald/projections"
	"github.com/heraldmail/herald/web/form"
)

// Translating the fixed labels when the templates are parsed changes no
// byte of any page, in either language: each page rendered from the
// translated templates equals the page whose labels T translates as it is
// served.
func TestTranslatedLabelsRenderAsTheirMessages(t *testing.T) {
	t.Parallel()
	fixed, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	dynamic, err := parsePagesWith(func(src string, _ locale) string { return src })
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC)
	data := map[string]any{
		"clients": clientList{Query: "a", All: true, Next: "/clients?after=x", Clients: []clientItem{
			{ID: uuid.NewString(), OwnerID: uuid.NewString(), Email: `o'neil@example.org`, FullName: `Ann "A" <O'Neil>`, Mine: true, CanChange: true},
			{ID: uuid.NewString(), OwnerID: uuid.NewString(), Email: "bob@example.org", FullName: "Bob"},
		}},
		"mailing": &mailingDetail{ID: uuid.New(), CanEdit: true, CanToggle: true, CanSend: true,
			Header: &detailHeader{Subject: "News & more", Recipients: 2, StartAt: now, EndAt: now, Periodicity: "once",
				Timezone: "UTC", Status: "started", IsActive: true, NextRunKnown: true, Version: 2},
			Attempts: []detailAttempt{{ID: uuid.NewString(), When: "2 Dec", Email: "bob@example.org", Outcome: "sent", Attempt: 1, Reply: "250 ok"}},
			Events:   []detailEvent{{Version: 1, Time: "t", When: "w", Label: "created", By: "by you", StateAt: "/mailings/x?at=1", StateLabel: "state"}},
			Report:   &projections.MailingReport{},
			Progress: detailProgress{Runs: []detailRun{{projections.RunSummary{RunID: uuid.New(), Status: "started", Trigger: "manual", StartedAt: &now, Clients: 2, Sent: 1}}}}},
	}
	forms := map[string]any{"login": form.Login{Email: "a@example.org", Next: "/clients"}, "register": form.Register{Name: "Ann"}}
	for _, tag := range languages {
		l := newLocale(tag)
		shown := map[string]bool{}
		for _, page := range slices.Sorted(maps.Keys(fixed[l.lang])) {
			for _, signed := range []bool{false, true} {
				render := func(sets pageSets) (string, error) {
					v := &View{Lang: l.lang, Path: "/" + page, Signed: signed, Flash: "flash.client_created", Data: data[page], Form: forms[page],
						Errors: form.Errors{"email": "error.client_email_taken"}, loc: l, tz: time.UTC}
					tpl, _ := sets.page(l.lang, page)
					var buf bytes.Buffer
					err := tpl.ExecuteTemplate(&buf, "layout", v)
					return buf.String(), err
				}
				want, err := render(dynamic)
				if err != nil {
					continue // a page that needs data this test does not give it
				}
				got, err := render(fixed)
				if err != nil {
					t.Errorf("%s %s: the translated templates fail: %v", l.lang, page, err)
					continue
				}
				if got != want {
					t.Errorf("%s %s (signed in: %t): translated templates render\n%s\nwant\n%s", l.lang, page, signed, got, want)
				}
				shown[page] = true
			}
		}
		for _, page := range []string{"login", "register", "not_found", "clients", "mailing"} {
			if !shown[page] {
				t.Errorf("%s: page %s was not compared", l.lang, page)
			}
		}
	}
}

// A label is escaped where it is shown and quoted where it is assigned; one
// that would read as a template action is left to T.
func TestTranslateLabelsEscapes(t *testing.T) {
	t.Parallel()
	b := i18n.NewBundle(language.English)
	b.MustAddMessages(language.English,
		&i18n.Message{ID: "t.plain", Other: `Tom & "Jerry" <b>`},
		&i18n.Message{ID: "t.braces", Other: `a }} b`})
	l := locale{lang: "en", loc: i18n.NewLocalizer(b, "en")}
	for src, want := range map[string]string{
		`<p title="{{.T "t.plain"}}">{{$.V.T "t.plain"}}</p>`: `<p title="Tom &amp; &#34;Jerry&#34; &lt;b&gt;">Tom &amp; &#34;Jerry&#34; &lt;b&gt;</p>`,
		`{{$x := .T "t.plain"}}`:                              fmt.Sprintf("{{$x := %q}}", `Tom & "Jerry" <b>`),
		`{{.T "t.braces"}}`:                                   `{{.T "t.braces"}}`,
		`{{.T "t.plain" "N" 1}}`:                              `{{.T "t.plain" "N" 1}}`,
	} {
		if got := translateLabels(src, l); got != want {
			t.Errorf("translateLabels(%s) = %s, want %s", src, got, want)
		}
	}
}
