package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/identity"

	"github.com/heraldmail/herald/web/form"
)

// Each page is templates/<page>.html, rendered inside templates/layout.html.
//
//go:embed templates/*.html
var templateFiles embed.FS

func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{"static": staticPath}
	pages := map[string]*template.Template{}
	for _, n := range names {
		page := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if page == "layout" {
			continue
		}
		t, err := template.New(page).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		pages[page] = t
	}
	if len(pages) == 0 {
		return nil, errors.New("web: no page templates")
	}
	return pages, nil
}

// View is what a page template sees: the layout's parts and the page's own
// data.
type View struct {
	Lang   string
	Path   string // the page's URL, where the language switch returns
	Signed bool
	Flash  string // a message key
	Form   any
	Errors form.Errors
	Data   any
	// Who is the signed-in caller (the zero Principal when anonymous): the
	// templates show a button only when access's policy lets Who use it.
	Who identity.Principal
	loc locale
	tz  *time.Location
}

// Staff reports whether the caller is a manager or a superuser: the
// managers' pages are in the menu.
func (v *View) Staff() bool { return access.IsStaff(v.Who) }

// TimeZone is the IANA name of the zone the page shows times in.
func (v *View) TimeZone() string { return v.tz.String() }

// TimeZones are the zones a page offers to choose from (the footer's and
// the mailing form's list).
func (v *View) TimeZones() []string { return timeZones() }

// When is t as a date and time of day in the caller's time zone and
// language ("2 Dec 2026, 14:05" / "2 дек. 2026, 14:05"); "" for the zero
// time.
func (v *View) When(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(v.tz)
	return fmt.Sprintf("%d %s %d, %02d:%02d", t.Day(), v.month(t.Month()), t.Year(), t.Hour(), t.Minute())
}

// Day is t's date in the caller's time zone and language ("2 Dec 2026").
func (v *View) Day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(v.tz)
	return fmt.Sprintf("%d %s %d", t.Day(), v.month(t.Month()), t.Year())
}

func (v *View) month(m time.Month) string {
	return v.T("month." + strings.ToLower(m.String()[:3]))
}

// T translates message id; pairs are placeholder name, value.
func (v *View) T(id string, pairs ...any) string {
	var data map[string]any
	if len(pairs) > 1 {
		data = map[string]any{}
		for i := 0; i+1 < len(pairs); i += 2 {
			if k, ok := pairs[i].(string); ok {
				data[k] = pairs[i+1]
			}
		}
	}
	return v.loc.translate(id, data)
}

// TN translates message id in the plural form that fits n.
func (v *View) TN(id string, n int64) string {
	return v.loc.translatePlural(id, n)
}

// Error is the translated error of field, or "".
func (v *View) Error(field string) string {
	if k := v.Errors[field]; k != "" {
		return v.T(k)
	}
	return ""
}

// view starts the View of the request.
func (h *Handler) view(w http.ResponseWriter, r *http.Request) *View {
	l := localeOf(r)
	p := principal(r)
	return &View{Lang: l.lang, Path: pagePath(r), Signed: p.Authenticated(), Who: p,
		Flash: h.takeFlash(w, r), loc: l, tz: timeZone(r)}
}

// pagePath is where the language and time zone switches return to: the
// page itself, or for a form shown again after a refused POST, the page the
// form was on (a GET of the POST's address could be a 405).
func pagePath(r *http.Request) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return r.URL.RequestURI()
	}
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host {
		return localPath(ref.RequestURI(), "/")
	}
	return "/"
}

// render writes page with v, or the error page when it cannot.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, v *View) {
	t, ok := h.pages[page]
	if !ok {
		h.fail(w, r, errors.New("web: no page "+page))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail logs err and shows the error page, never the error itself.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error().Err(err).Str("path", r.URL.Path).Msg("page failed")
	v := &View{Lang: localeOf(r).lang, Path: "/", loc: localeOf(r), tz: time.UTC}
	var buf bytes.Buffer
	if t, ok := h.pages["error"]; ok && t.ExecuteTemplate(&buf, "layout", v) == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(buf.Bytes())
		return
	}
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}
