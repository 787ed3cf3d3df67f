package http

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/heraldmail/herald/projections"
)

//go:embed templates/home.html
var homeFS embed.FS

//go:embed templates/home.html
var homeHTML string

var homeTemplate = template.Must(template.ParseFS(homeFS, "templates/home.html"))

// homePage serves the public figures, cached for ttl: a burst of visitors
// costs one query, and concurrent misses wait for the one in flight.
type homePage struct {
	q   *projections.ResourceQueries
	ttl time.Duration

	mu    sync.Mutex
	stats projections.PublicStats
	asOf  time.Time
}

func newHomePage(q *projections.ResourceQueries, ttl time.Duration) *homePage {
	return &homePage{q: q, ttl: ttl}
}

// figures returns the cached figures, refreshing them when older than ttl.
func (h *homePage) figures(ctx context.Context) (projections.PublicStats, time.Time, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.asOf.IsZero() && time.Since(h.asOf) < h.ttl {
		return h.stats, h.asOf, nil
	}
	s, err := h.q.PublicStats(ctx)
	if err != nil {
		return projections.PublicStats{}, time.Time{}, err
	}
	h.stats, h.asOf = s, time.Now().UTC()
	return h.stats, h.asOf, nil
}

type homeData struct {
	projections.PublicStats
	AsOf        time.Time
	SignInURL   string
	RegisterURL string
}

// homePage is GET /: server-rendered HTML, open to everyone.
func (h *Resources) homePage(w http.ResponseWriter, r *http.Request) {
	s, asOf, err := h.home.figures(r.Context())
	if err != nil {
		respondError(w, r, err)
		return
	}
	var buf bytes.Buffer
	data := homeData{PublicStats: s, AsOf: asOf,
		SignInURL: "/api/docs#/identity/login", RegisterURL: "/api/docs#/identity/register"}
	if err := homeTemplate.Execute(&buf, data); err != nil {
		respondError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(h.home.ttl/time.Second)))
	w.Header().Set("Content-Security-Policy", homePolicy)
	respondDocument(w, r, "text/html; charset=utf-8", buf.Bytes())
}
