package web

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sync"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// The message catalogues: per language, one JSON file per page family
// (locales/<family>.<language>.json, keyed by message id), merged into one
// bundle.
//
//go:embed locales/*.json
var localeFiles embed.FS

// languages are the UI's languages, the first the fallback.
var languages = []language.Tag{language.English, language.Russian}

var (
	bundle  = newBundle()
	matcher = language.NewMatcher(languages)
)

func newBundle() *i18n.Bundle {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	files, err := fs.Glob(localeFiles, "locales/*.json")
	if err != nil || len(files) == 0 {
		panic(fmt.Sprintf("web: no message catalogue (%v)", err))
	}
	for _, f := range files {
		if _, err := b.LoadMessageFileFS(localeFiles, f); err != nil {
			panic("web: message catalogue: " + err.Error())
		}
	}
	return b
}

// langCookie remembers the language picked in the page footer; it wins
// over Accept-Language.
const langCookie = "herald_lang"

type localeKey struct{}

type locale struct {
	lang string // "en" or "ru"
	loc  *i18n.Localizer
}

// withLocale picks the language of the request.
func (h *Handler) withLocale(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var picked string
		if c, err := r.Cookie(langCookie); err == nil {
			picked = c.Value
		}
		tag, _ := language.MatchStrings(matcher, picked, r.Header.Get("Accept-Language"))
		l := newLocale(tag)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), localeKey{}, l)))
	})
}

// newLocale is the locale of tag's base language.
func newLocale(tag language.Tag) locale {
	base, _ := tag.Base()
	return locale{lang: base.String(), loc: i18n.NewLocalizer(bundle, base.String())}
}

func localeOf(r *http.Request) locale {
	if l, ok := r.Context().Value(localeKey{}).(locale); ok {
		return l
	}
	return newLocale(language.English)
}

// translate is message id in the locale's language; data fills its
// {{.Placeholders}}. A missing message shows its id (and a test fails).
func (l locale) translate(id string, data map[string]any) string {
	if data == nil {
		key := l.lang + "\x00" + id
		if s, ok := plainMessages.Load(key); ok {
			return s.(string)
		}
		s, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: id})
		if err != nil {
			return id
		}
		plainMessages.Store(key, s)
		return s
	}
	s, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

// plainMessages keeps the messages without placeholders once translated,
// per language (key "lang\x00id"): a page shows dozens of them, and the
// catalogue does not change while Herald runs.
var plainMessages sync.Map

// translatePlural is message id in the plural form of n (one, few, many,
// other: the language's rules decide).
func (l locale) translatePlural(id string, n int64) string {
	s, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: id, PluralCount: n})
	if err != nil {
		return id
	}
	return s
}

// switchLanguage is POST /language, the footer's switch.
func (h *Handler) switchLanguage(w http.ResponseWriter, r *http.Request) {
	lang := r.PostFormValue("lang")
	if lang != "en" && lang != "ru" {
		lang = "en"
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 60 * 60,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, localPath(r.PostFormValue("next"), "/"), http.StatusSeeOther)
}
