package web

import (
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nicksnyder/go-i18n/v2/i18n"
)

// catalogue reads the message ids of one language, from all its files,
// and the ids per page family.
func catalogue(t *testing.T, lang string) (all map[string]any, families map[string]map[string]any) {
	t.Helper()
	files, err := fs.Glob(localeFiles, "locales/*."+lang+".json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no catalogue for %s (%v)", lang, err)
	}
	all, families = map[string]any{}, map[string]map[string]any{}
	for _, f := range files {
		raw, err := localeFiles.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for id, v := range m {
			if all[id] != nil {
				t.Errorf("%s: %q is defined twice for %s", f, id, lang)
			}
			all[id] = v
		}
		families[strings.TrimSuffix(path.Base(f), "."+lang+".json")] = m
	}
	return all, families
}

// Every message id used by a template or the code exists in every
// language, and no language has ids the others lack: each family's file in
// one language has the same ids as in the other.
func TestCataloguesComplete(t *testing.T) {
	t.Parallel()
	en, enFamilies := catalogue(t, "en")
	_, ruFamilies := catalogue(t, "ru")
	for _, fam := range slices.Sorted(maps.Keys(enFamilies)) {
		ru := ruFamilies[fam]
		if ru == nil {
			t.Errorf("locales/%s.ru.json is missing", fam)
			continue
		}
		for id := range enFamilies[fam] {
			if ru[id] == nil {
				t.Errorf("%s.ru.json lacks %q", fam, id)
			}
		}
		for id := range ru {
			if enFamilies[fam][id] == nil {
				t.Errorf("%s.en.json lacks %q", fam, id)
			}
		}
	}
	for fam := range ruFamilies {
		if enFamilies[fam] == nil {
			t.Errorf("locales/%s.en.json is missing", fam)
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
	t.Parallel()
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
	t.Parallel()
	for _, lang := range []string{"en", "ru"} {
		l := locale{lang: lang, loc: i18n.NewLocalizer(bundle, lang)}
		all, _ := catalogue(t, lang)
		for id, msg := range all {
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
