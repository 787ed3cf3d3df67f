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
)

// catalogue reads the message ids of one language's file.
func catalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	raw, err := localeFiles.ReadFile("locales/" + lang + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
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
		if ru[id] == "" {
			t.Errorf("ru.json lacks %q", id)
		}
	}
	for id := range ru {
		if en[id] == "" {
			t.Errorf("en.json lacks %q", id)
		}
	}

	used := map[string]bool{}
	inTemplate := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
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
		if en[id] == "" {
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
