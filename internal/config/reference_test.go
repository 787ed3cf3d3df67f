package config

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The configuration reference in docs/OPERATIONS.md is rendered from the
// code: the names and defaults from Defaults().Settings(), the meanings
// from the comments of .env.sample (the one place settings are described).
// `go test ./internal/config -run TestConfigReference -update` rewrites the
// block; without -update the test fails while the block is stale.

var update = flag.Bool("update", false, "rewrite the configuration reference in docs/OPERATIONS.md")

const (
	referenceBegin = "<!-- config-reference:begin (go test ./internal/config -run TestConfigReference -update) -->"
	referenceEnd   = "<!-- config-reference:end -->"
)

// sampleVar is one variable of .env.sample and the comment above it.
type sampleVar struct {
	name, about string
}

// sampleLine is a variable line, set ("NAME=value") or commented out
// ("# NAME=value").
var sampleLine = regexp.MustCompile(`^#?\s*([A-Z][A-Z0-9_]*)=`)

// parseSample reads .env.sample: each variable with the comment lines
// right above it. Variables listed together under one comment share it.
func parseSample(t *testing.T, path string) []sampleVar {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out     []sampleVar
		comment []string
		last    string // the comment of the previous variable of this block
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch m := sampleLine.FindStringSubmatch(line); {
		case line == "":
			comment, last = nil, ""
		case m != nil:
			about := strings.Join(comment, " ")
			if about == "" {
				about = last
			}
			out = append(out, sampleVar{name: m[1], about: about})
			comment, last = nil, about
		case strings.HasPrefix(line, "#"):
			text := strings.TrimPrefix(line, "#")
			words := strings.Fields(text)
			if len(words) > 0 && strings.HasPrefix(text, "   ") {
				// An indented line is an item of a list (SMTP_URL's forms):
				// its own line in the table, its first word as code.
				comment = append(comment, "<br>`"+words[0]+"` "+strings.Join(words[1:], " "))
				continue
			}
			comment = append(comment, strings.Join(words, " "))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// renderReference is the Markdown table of every variable of .env.sample.
func renderReference(vars []sampleVar) string {
	defaults := map[string]string{}
	for _, s := range Defaults().Settings() {
		defaults[s.Name] = s.Value
	}
	// Markdown cells: a pipe would end the cell, and <host name> would be
	// read as an HTML tag (the <br> of list items is meant as one).
	cell := strings.NewReplacer("|", `\|`, "<br>", "<br>", "<", "&lt;", ">", "&gt;").Replace
	var b strings.Builder
	b.WriteString("| Variable | Default | Meaning |\n| --- | --- | --- |\n")
	for _, v := range vars {
		def, ok := defaults[v.name]
		switch {
		case !ok && strings.Contains(v.about, "default"):
			def = "see meaning" // read outside internal/config, its default stated in the text
		case !ok:
			def = "none"
		case def == "":
			def = "none"
		default:
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.name, cell(def), cell(v.about))
	}
	return b.String()
}

func TestConfigReference(t *testing.T) {
	root := filepath.Join("..", "..")
	vars := parseSample(t, filepath.Join(root, ".env.sample"))
	described := map[string]bool{}
	for _, v := range vars {
		if v.about == "" {
			t.Errorf(".env.sample: %s has no comment saying what it means", v.name)
		}
		described[v.name] = true
	}
	for _, s := range Defaults().Settings() {
		if !described[s.Name] {
			t.Errorf(".env.sample does not describe %s, a setting of Config", s.Name)
		}
	}

	docPath := filepath.Join(root, "docs", "OPERATIONS.md")
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	before, rest, ok := strings.Cut(doc, referenceBegin+"\n")
	current, after, ok2 := strings.Cut(rest, referenceEnd)
	if !ok || !ok2 {
		t.Fatalf("%s: no block between %q and %q", docPath, referenceBegin, referenceEnd)
	}
	want := renderReference(vars)
	if current == want {
		return
	}
	if *update {
		if err := os.WriteFile(docPath, []byte(before+referenceBegin+"\n"+want+referenceEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: the configuration reference is stale; run go test ./internal/config -run TestConfigReference -update", docPath)
}

// The parser keeps each variable's own comment, shares a block's comment
// between variables listed together, and starts afresh after a blank line.
func TestParseSampleBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env.sample")
	sample := "# Header.\n\n# First\n# line two.\nA=1\n# Second.\nB=2\n\n# Shared:\n#   x://a item one\n# C=3\n# D=4\n\nE=5\n"
	if err := os.WriteFile(path, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	got := parseSample(t, path)
	want := []sampleVar{{"A", "First line two."}, {"B", "Second."}, {"C", "Shared: <br>`x://a` item one"}, {"D", "Shared: <br>`x://a` item one"}, {"E", ""}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
