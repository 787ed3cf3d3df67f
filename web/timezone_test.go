package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
)

func TestTimesInTheCallersZoneAndLanguage(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 31, 22, 30, 0, 0, time.UTC)
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		lang      string
		tz        *time.Location
		when, day string
	}{
		{"en", time.UTC, "31 Dec 2026, 22:30", "31 Dec 2026"},
		{"en", moscow, "1 Jan 2027, 01:30", "1 Jan 2027"},
		{"ru", moscow, "1 янв. 2027, 01:30", "1 янв. 2027"},
	} {
		v := &View{loc: locale{lang: c.lang, loc: i18n.NewLocalizer(bundle, c.lang)}, tz: c.tz}
		if got := v.When(at); got != c.when {
			t.Errorf("%s %s: When = %q, want %q", c.lang, c.tz, got, c.when)
		}
		if got := v.Day(at); got != c.day {
			t.Errorf("%s %s: Day = %q, want %q", c.lang, c.tz, got, c.day)
		}
	}
	if v := (&View{tz: time.UTC}); v.When(time.Time{}) != "" {
		t.Error("the zero time is shown")
	}
}

func TestTimeZoneSwitch(t *testing.T) {
	t.Parallel()
	h := &Handler{}
	for tz, want := range map[string]string{"Asia/Tokyo": "Asia/Tokyo", "Mars/Olympus": "", "": ""} {
		req := httptest.NewRequest(http.MethodPost, "/time-zone", strings.NewReader(url.Values{"tz": {tz}, "next": {"/reports"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.switchTimeZone(rec, req)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/reports" {
			t.Errorf("%q: %d %q", tz, rec.Code, rec.Header().Get("Location"))
		}
		var got string
		for _, c := range rec.Result().Cookies() {
			if c.Name == tzCookie {
				got = c.Value
			}
		}
		if got != want {
			t.Errorf("%q: cookie %q, want %q", tz, got, want)
		}
		back := httptest.NewRequest(http.MethodGet, "/", nil)
		back.AddCookie(&http.Cookie{Name: tzCookie, Value: tz})
		if zone := timeZone(back).String(); want != "" && zone != want || want == "" && zone != "UTC" {
			t.Errorf("%q: pages in %s", tz, zone)
		}
	}
}

func TestZoneOptions(t *testing.T) {
	t.Parallel()
	got := string(zoneOptions([]string{"UTC", "Europe/Moscow", `a"<b`}, "Europe/Moscow"))
	want := `<option value="UTC">UTC</option><option value="Europe/Moscow" selected>Europe/Moscow</option>` +
		`<option value="a&#34;&lt;b">a&#34;&lt;b</option>`
	if got != want {
		t.Errorf("zoneOptions = %s, want %s", got, want)
	}
}
