package api

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The document several engineers edit must stay valid: YAML, OpenAPI 3.1,
// every $ref resolves, every operation answers something, path parameters
// are declared, operation ids are unique, and the operations endpoints of
// the API contract are there.
func TestOpenAPIDocument(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml is not valid YAML: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("openapi: %q, want 3.1.x", v)
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/api/openapi.yaml"} {
		if paths[p] == nil {
			t.Errorf("path %s missing", p)
		}
	}

	var refs []string
	collectRefs(doc, &refs)
	for _, ref := range refs {
		if !strings.HasPrefix(ref, "#/") {
			t.Errorf("$ref %q is not local", ref)
			continue
		}
		var node any = doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, ok := node.(map[string]any)
			if !ok {
				node = nil
				break
			}
			node = m[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]
		}
		if node == nil {
			t.Errorf("$ref %q does not resolve", ref)
		}
	}

	methods := []string{"get", "put", "post", "delete", "patch", "head", "options"}
	ids := map[string]string{}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range paths {
		pi, _ := item.(map[string]any)
		if pi == nil {
			t.Errorf("%s: not an object", path)
			continue
		}
		for _, m := range methods {
			op, _ := pi[m].(map[string]any)
			if op == nil {
				continue
			}
			where := strings.ToUpper(m) + " " + path
			if r, _ := op["responses"].(map[string]any); len(r) == 0 {
				t.Errorf("%s: no responses", where)
			}
			if id, _ := op["operationId"].(string); id != "" {
				if prev, dup := ids[id]; dup {
					t.Errorf("operationId %q used by %s and %s", id, prev, where)
				}
				ids[id] = where
			}
			declared := declaredPathParams(doc, pi["parameters"], op["parameters"])
			for _, m := range param.FindAllStringSubmatch(path, -1) {
				if !slices.Contains(declared, m[1]) {
					t.Errorf("%s: path parameter %q not declared", where, m[1])
				}
			}
		}
	}
}

func collectRefs(n any, out *[]string) {
	switch v := n.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "$ref" {
				if s, ok := x.(string); ok {
					*out = append(*out, s)
				}
				continue
			}
			collectRefs(x, out)
		}
	case []any:
		for _, x := range v {
			collectRefs(x, out)
		}
	}
}

// declaredPathParams lists the names of `in: path` parameters, following
// $refs to components.parameters.
func declaredPathParams(doc map[string]any, lists ...any) []string {
	var names []string
	for _, l := range lists {
		ps, _ := l.([]any)
		for _, p := range ps {
			pm, _ := p.(map[string]any)
			if ref, ok := pm["$ref"].(string); ok {
				name := strings.TrimPrefix(ref, "#/components/parameters/")
				comps, _ := doc["components"].(map[string]any)
				params, _ := comps["parameters"].(map[string]any)
				pm, _ = params[name].(map[string]any)
			}
			if pm != nil && fmt.Sprint(pm["in"]) == "path" {
				names = append(names, fmt.Sprint(pm["name"]))
			}
		}
	}
	return names
}
