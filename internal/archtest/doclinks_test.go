package archtest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The repository is all a newcomer gets: its Markdown links only to files
// it holds (or to the web by absolute URL), and names no folder beside it.

var (
	// inlineLink is [text](target) and ![alt](target); the target ends at
	// a space (a title follows) or the closing parenthesis.
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	// refLink is a reference definition: [label]: target.
	refLink = regexp.MustCompile(`(?m)^[ ]{0,3}\[[^\]]+\]:[ \t]*<?(\S+?)>?(?:[ \t]+.*)?$`)
	// codeSpan is inline code, where brackets and parentheses are not links.
	codeSpan = regexp.MustCompile("`[^`\n]*`")
	// scheme starts an absolute URL (https:, mailto:...).
	scheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	// upPath is a relative path climbing out of its folder, written
	// anywhere in a document (prose, code, a link).
	upPath = regexp.MustCompile(`(?:^|[^\w./-])((?:\.\./)+[\w.-][\w./-]*)`)
)

// markdownFiles are the repository's documents: README.md, CONTRIBUTING.md
// and docs/*.md.
func markdownFiles(t *testing.T, root string) []string {
	t.Helper()
	files := []string{filepath.Join(root, "README.md"), filepath.Join(root, "CONTRIBUTING.md")}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append(files, docs...)
}

// linkTargets returns the targets of the links of a Markdown text, outside
// fenced code blocks and code spans.
func linkTargets(text string) []string {
	var prose strings.Builder
	fenced := false
	for line := range strings.Lines(text) {
		if trimmed := strings.TrimSpace(line); strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fenced = !fenced
			continue
		}
		if !fenced {
			prose.WriteString(codeSpan.ReplaceAllString(line, ""))
		}
	}
	var out []string
	for _, re := range []*regexp.Regexp{inlineLink, refLink} {
		for _, m := range re.FindAllStringSubmatch(prose.String(), -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// checkLinks reports, for the document at path inside root, every link
// that leaves root or names a file that does not exist, and every relative
// path written in it that climbs out of root.
func checkLinks(root, path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, m := range upPath.FindAllStringSubmatch(string(data), -1) {
		if leavesRoot(root, filepath.Join(filepath.Dir(path), filepath.FromSlash(m[1]))) {
			problems = append(problems, fmt.Sprintf("mentions %s, outside the repository", m[1]))
		}
	}
	for _, target := range linkTargets(string(data)) {
		if target == "" || strings.HasPrefix(target, "#") || scheme.MatchString(target) {
			continue
		}
		file, _, _ := strings.Cut(target, "#")
		file, _, _ = strings.Cut(file, "?")
		var abs string
		if strings.HasPrefix(file, "/") {
			abs = filepath.Join(root, filepath.FromSlash(file))
		} else {
			abs = filepath.Join(filepath.Dir(path), filepath.FromSlash(file))
		}
		if leavesRoot(root, abs) {
			problems = append(problems, fmt.Sprintf("links to %s, outside the repository", target))
			continue
		}
		if _, err := os.Stat(abs); err != nil {
			problems = append(problems, fmt.Sprintf("links to %s, which does not exist", target))
		}
	}
	return problems, nil
}

// leavesRoot reports whether abs lies outside root.
func leavesRoot(root, abs string) bool {
	rel, err := filepath.Rel(root, abs)
	return err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func TestDocumentLinks(t *testing.T) {
	root, _ := moduleRoot(t)
	for _, path := range markdownFiles(t, root) {
		problems, err := checkLinks(root, path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, path)
		for _, p := range problems {
			t.Errorf("%s: %s", rel, p)
		}
	}
}

// The checker itself: each kind of bad link is found, good ones pass.
func TestDocumentLinksChecker(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"README.md", "docs/API.md"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	doc := strings.Join([]string{
		"[ok](../README.md#top) ![img](API.md \"title\") [web](https://pkg.go.dev/x) [here](#anchor)",
		"`[code](../../nowhere.md)`",
		"```", "[fenced](../../nowhere.md)", "```",
		"[up](../../SEED.md) [gone](MISSING.md) [abs](/docs/API.md)",
		"[ref]: ../README.md",
		"[badref]: ../../x.md",
		"see `../../brief/API.md` and ../notes.md",
	}, "\n")
	path := filepath.Join(root, "docs", "GUIDE.md")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := checkLinks(root, path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"mentions ../../nowhere.md, outside the repository", // code is no link, but a mention
		"mentions ../../nowhere.md, outside the repository",
		"mentions ../../SEED.md, outside the repository",
		"mentions ../../x.md, outside the repository",
		"mentions ../../brief/API.md, outside the repository",
		"links to ../../SEED.md, outside the repository",
		"links to MISSING.md, which does not exist",
		"links to ../../x.md, outside the repository",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}
