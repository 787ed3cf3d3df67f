package web

import (
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/nicksnyder/go-i18n/v2/i18n"
)

// catalogue reads the message ids of one language's file.
func catalogue(t *testing.T, lang string) map[string]any {
	t.Helper()
	raw, err := localeFiles.ReadFile("locales/" + lang + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s.json: %v", lang, err)
	}
	return m
}

// Every message id used by a template or the code exists in every
// language, and no language has ids the others lack.
func TestCataloguesComplete(t *testing.T) {
	en, ru := catalogue(t, "en"), catalogue(t, "ru")
	for id := range en {
		if ru[id] == nil {
			t.Errorf("ru.json lacks %q", id)
		}
	}
	for id := range ru {
		if en[id] == nil {
			t.Errorf("en.json lacks %q", id)
		}
	}

	used := map[string]bool{}
	inTemplate := regexp.MustCompile(`\.TN? "([a-z0-9_.]+)"`)
	err := fs.WalkDir(templateFiles, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFiles.ReadFile(p)
		for _, m := range inTemplate.FindAllSubmatch(b, -1) {
			used[string(m[1])] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	inCode := regexp.MustCompile(`"((?:error|flash|page|form|nav|footer)\.[a-z0-9_.]+)"`)
	goFiles, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	formFiles, err := filepath.Glob("form/*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(goFiles, formFiles...) {
		if filepath.Ext(f) == ".go" && !regexp.MustCompile(`_test\.go$`).MatchString(f) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range inCode.FindAllSubmatch(b, -1) {
				used[string(m[1])] = true
			}
		}
	}
	if len(used) < 20 {
		t.Fatalf("found only %d message ids in use: the scan is broken", len(used))
	}
	for _, id := range slices.Sorted(maps.Keys(used)) {
		if en[id] == nil {
			t.Errorf("message %q is used but not in the catalogues", id)
		}
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/dashboard":       "/dashboard",
		"/dashboard?x=1":   "/dashboard?x=1",
		"":                 "/fallback",
		"https://evil.com": "/fallback",
		"//evil.com/x":     "/fallback",
		"/\\evil.com":      "/fallback",
		"dashboard":        "/fallback",
	} {
		if got := localPath(in, "/fallback"); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every plural message has the forms its language needs for any count.
func TestPluralForms(t *testing.T) {
	for _, lang := range []string{"en", "ru"} {
		l := locale{lang: lang, loc: i18n.NewLocalizer(bundle, lang)}
		for id, msg := range catalogue(t, lang) {
			if _, plural := msg.(map[string]any); !plural {
				continue
			}
			for _, n := range []int64{0, 1, 2, 5, 11, 21, 22, 25} {
				if got := l.translatePlural(id, n); got == id {
					t.Errorf("%s: %q has no form for %d", lang, id, n)
				}
			}
		}
	}
}
