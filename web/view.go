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
	"regexp"
	"strconv"
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

// pageSets are the parsed pages, per language and page name.
type pageSets map[string]map[string]*template.Template

// page is the template set of page in lang.
func (p pageSets) page(lang, page string) (*template.Template, bool) {
	t, ok := p[lang][page]
	return t, ok
}

// fixedLabel is a template action showing a message without placeholders:
// {{.T "id"}} (or $.T, .V.T, $.V.T), or one assigning it to a variable.
var fixedLabel = regexp.MustCompile(`\{\{(\$\w+ := )?\$?(?:\.V)?\.T "([a-z0-9_.]+)"\}\}`)

// translateLabels puts l's text in place of src's fixed labels: HTML-escaped
// where it is shown (every label stands in text or in a quoted attribute),
// a string literal where it is assigned. A label then costs a page nothing
// when it is served; T is left to the messages that hold values.
func translateLabels(src string, l locale) string {
	return fixedLabel.ReplaceAllStringFunc(src, func(action string) string {
		m := fixedLabel.FindStringSubmatch(action)
		text := l.translate(m[2], nil)
		switch {
		case strings.Contains(text, "{{") || strings.Contains(text, "}}"):
			return action // it would read as an action
		case m[1] != "":
			return "{{" + m[1] + strconv.Quote(text) + "}}"
		}
		return template.HTMLEscapeString(text)
	})
}

// parsePages parses every page once per language, its fixed labels
// translated.
func parsePages() (pageSets, error) { return parsePagesWith(translateLabels) }

// parsePagesWith parses every page once per language, its source passed
// through labels first.
func parsePagesWith(labels func(src string, l locale) string) (pageSets, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	layout, err := templateFiles.ReadFile("templates/layout.html")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{"static": staticPath, "zoneOptions": zoneOptions}
	sets := pageSets{}
	for _, tag := range languages {
		l := newLocale(tag)
		pages := map[string]*template.Template{}
		for _, n := range names {
			page := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
			if page == "layout" {
				continue
			}
			src, err := templateFiles.ReadFile(n)
			if err != nil {
				return nil, err
			}
			t, err := template.New(page).Funcs(funcs).Parse(labels(string(layout), l))
			if err == nil {
				t, err = t.Parse(labels(string(src), l))
			}
			if err != nil {
				return nil, fmt.Errorf("web: %s (%s): %w", n, l.lang, err)
			}
			pages[page] = t
		}
		if len(pages) == 0 {
			return nil, errors.New("web: no page templates")
		}
		sets[l.lang] = pages
	}
	return sets, nil
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

// zoneOptions is the <option> list of a time zone <select>, selected
// marked. It is built here rather than ranged over in the template: the
// footer of every page carries the list, and one escaped string per zone
// costs a fraction of three template actions per zone.
func zoneOptions(zones []string, selected string) template.HTML {
	var b strings.Builder
	b.Grow(len(zones) * 64)
	for _, z := range zones {
		e := template.HTMLEscapeString(z)
		b.WriteString(`<option value="`)
		b.WriteString(e)
		if z == selected {
			b.WriteString(`" selected>`)
		} else {
			b.WriteString(`">`)
		}
		b.WriteString(e)
		b.WriteString("</option>")
	}
	return template.HTML(b.String()) // every zone name is escaped above
}

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
	t, ok := h.pages.page(v.Lang, page)
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
	if t, ok := h.pages.page(v.Lang, "error"); ok && t.ExecuteTemplate(&buf, "layout", v) == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(buf.Bytes())
		return
	}
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}
