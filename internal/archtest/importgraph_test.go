package archtest

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the import graph in CONTRIBUTING.md from the code")

const (
	sectionTitle = "## Import graph"
	fenceOpen    = "```text"
	fenceClose   = "```"
)

// The rules CONTRIBUTING.md states under the graph, checked by
// TestImportRules.
var ruleLines = []string{
	"- http imports no pgx, Redis, mail or migrations packages.",
	"- domain imports only the standard library, google/uuid and segmentio/encoding/json (encoding/json's API, decoding events 4-6x faster).",
}

// pkg is one package of the module: its path inside the module ("" for
// the root) and the import paths of its non-test files.
type pkg struct {
	rel     string
	imports []string
}

// modulePackages walks the module from root and reads the imports of every
// package's non-test files (build constraints applied, as go build does).
func modulePackages(t *testing.T, root string) []pkg {
	t.Helper()
	var out []pkg
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
			return filepath.SkipDir
		}
		bp, err := build.Default.ImportDir(path, 0)
		if errors.As(err, new(*build.NoGoError)) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		out = append(out, pkg{rel: filepath.ToSlash(rel), imports: bp.Imports})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b pkg) int { return strings.Compare(a.rel, b.rel) })
	return out
}

// moduleRoot finds go.mod above the test's directory and returns its
// directory and the module path.
func moduleRoot(t *testing.T) (root, module string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			for line := range strings.Lines(string(data)) {
				if m, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
					return dir, strings.Trim(strings.TrimSpace(m), `"`)
				}
			}
			t.Fatalf("no module line in %s", filepath.Join(dir, "go.mod"))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// graph renders, one line per package, the module's packages each imports:
// "saga: bus commands domain eventstore mail".
func graph(module string, pkgs []pkg) string {
	var b strings.Builder
	for _, p := range pkgs {
		var deps []string
		for _, imp := range p.imports {
			if rel, ok := strings.CutPrefix(imp, module+"/"); ok {
				deps = append(deps, rel)
			}
		}
		slices.Sort(deps)
		b.WriteString(strings.TrimSpace(p.rel + ": " + strings.Join(deps, " ")))
		b.WriteString("\n")
	}
	return b.String()
}

// section returns the graph as CONTRIBUTING.md lists it, and where its
// text starts and ends in doc.
func section(t *testing.T, doc []byte) (listed string, start, end int) {
	t.Helper()
	at := bytes.Index(doc, []byte("\n"+sectionTitle+"\n"))
	if at < 0 {
		t.Fatalf("CONTRIBUTING.md has no %q section", sectionTitle)
	}
	open := bytes.Index(doc[at:], []byte("\n"+fenceOpen+"\n"))
	if open < 0 {
		t.Fatalf("the %q section has no %s block", sectionTitle, fenceOpen)
	}
	start = at + open + len("\n"+fenceOpen+"\n")
	// From the newline that ends the opening fence: the block may be empty.
	closing := bytes.Index(doc[start-1:], []byte("\n"+fenceClose+"\n"))
	if closing < 0 {
		t.Fatalf("the %s block of %q is not closed", fenceOpen, sectionTitle)
	}
	end = start + closing
	return string(doc[start:end]), start, end
}

// TestImportGraph fails while CONTRIBUTING.md's import graph differs from
// the code's; -update rewrites it from the code.
func TestImportGraph(t *testing.T) {
	root, module := moduleRoot(t)
	actual := graph(module, modulePackages(t, root))
	path := filepath.Join(root, "CONTRIBUTING.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	listed, start, end := section(t, doc)
	if listed == actual {
		return
	}
	if *update {
		out := slices.Concat(doc[:start], []byte(actual), doc[end:])
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the import graph in %s", path)
		return
	}
	t.Errorf("the imports differ from CONTRIBUTING.md's %q (a new import is a design decision: "+
		"if it is meant, run `go test ./internal/archtest -run TestImportGraph -update`):\n%s",
		sectionTitle, lineDiff(listed, actual))
}

// lineDiff names the lines only the listed graph has and those only the
// code has.
func lineDiff(listed, actual string) string {
	lines := func(s string) []string {
		var out []string
		sc := bufio.NewScanner(strings.NewReader(s))
		for sc.Scan() {
			out = append(out, sc.Text())
		}
		return out
	}
	l, a := lines(listed), lines(actual)
	var b strings.Builder
	for _, x := range l {
		if !slices.Contains(a, x) {
			fmt.Fprintf(&b, "  CONTRIBUTING.md: %s\n", x)
		}
	}
	for _, x := range a {
		if !slices.Contains(l, x) {
			fmt.Fprintf(&b, "  the code:        %s\n", x)
		}
	}
	return b.String()
}

// isStd reports whether path is in the standard library (its first element
// has no dot).
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// TestImportRules checks the two rules CONTRIBUTING.md states under the
// graph, whatever the graph says: the HTTP door reaches storage, the bus
// and mail only through the core, and the domain stays pure.
func TestImportRules(t *testing.T) {
	root, module := moduleRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "CONTRIBUTING.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range ruleLines {
		if !bytes.Contains(doc, []byte("\n"+rule+"\n")) {
			t.Errorf("CONTRIBUTING.md does not state the rule %q", rule)
		}
	}
	forbiddenInHTTP := []string{"github.com/jackc/pgx", "github.com/redis/", module + "/mail", module + "/migrations"}
	found := map[string]bool{}
	for _, p := range modulePackages(t, root) {
		found[p.rel] = true
		for _, imp := range p.imports {
			switch p.rel {
			case "http":
				for _, f := range forbiddenInHTTP {
					if imp == f || strings.HasPrefix(imp, strings.TrimSuffix(f, "/")+"/") {
						t.Errorf("http imports %s: what needs it is built in internal/app and handed in", imp)
					}
				}
			case "domain":
				if !isStd(imp) && imp != "github.com/google/uuid" && imp != "github.com/segmentio/encoding/json" {
					t.Errorf("domain imports %s: it imports only the standard library, google/uuid and segmentio/encoding/json", imp)
				}
			}
		}
	}
	for _, p := range []string{"http", "domain"} {
		if !found[p] {
			t.Errorf("no package %s found: the rules check nothing", p)
		}
	}
}
