package http_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"go.yaml.in/yaml/v3"

	apidoc "github.com/heraldmail/herald/api"
	api "github.com/heraldmail/herald/http"
	"github.com/heraldmail/herald/internal/apptest"
)

// The router and the OpenAPI document describe the same API: every route
// the application serves is documented, and every documented operation is
// routed. The router is built from the application's own configuration,
// every area wired, as `herald serve` builds it.
func TestEveryRouteIsDocumentedAndEveryOperationRouted(t *testing.T) {
	t.Parallel()
	routed := routedOperations(t)
	documented := documentedOperations(t)
	for _, op := range routed {
		if !slices.Contains(documented, op) {
			t.Errorf("%s is routed but not in api/openapi.yaml", op)
		}
	}
	for _, op := range documented {
		if !slices.Contains(routed, op) {
			t.Errorf("%s is in api/openapi.yaml but not routed", op)
		}
	}
}

// chiParam is a path parameter with chi's optional pattern ({id:[0-9]+}).
var chiParam = regexp.MustCompile(`\{([^}:]+)(:[^}]*)?\}`)

// routedOperations lists "METHOD /path" for every route of the router,
// parameters written as OpenAPI writes them.
func routedOperations(t *testing.T) []string {
	t.Helper()
	env := apptest.Start(t, apptest.WithRoles()) // the API alone
	cfg := env.App.HTTPConfig()
	cfg.Registry = nil // the served router registered its metrics there already
	routes, ok := api.NewRouter(cfg).(chi.Routes)
	if !ok {
		t.Fatal("the router is not a chi router")
	}
	var ops []string
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = chiParam.ReplaceAllString(route, "{$1}")
		if route != "/" {
			route = strings.TrimSuffix(route, "/")
		}
		ops = append(ops, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) < 10 {
		t.Fatalf("only %d routes walked: %v", len(ops), ops)
	}
	return ops
}

// documentedOperations lists "METHOD /path" for every operation of
// api/openapi.yaml.
func documentedOperations(t *testing.T) []string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(apidoc.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	if len(ops) < 10 {
		t.Fatalf("only %d operations documented", len(ops))
	}
	return ops
}
