package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/go-chi/chi/v5"
)

//go:embed static
var staticFiles embed.FS

// staticFile is one embedded file under its fingerprinted name.
type staticFile struct {
	body        []byte
	contentType string
}

// Static files are served under names that carry their content's hash
// (app.css → app.1a2b3c4d5e6f.css), so browsers may keep them a year: a
// changed file is a new URL.
var staticByName, staticURL = fingerprint()

// staticTypes is the Content-Type of each kind of static file. Named here
// rather than asked of package mime, which would load the system's table of
// a few thousand types into the heap for the sake of two.
var staticTypes = map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

func fingerprint() (map[string]staticFile, map[string]string) {
	byName, urls := map[string]staticFile{}, map[string]string{}
	entries, err := fs.ReadDir(staticFiles, "static")
	if err != nil {
		panic("web: embedded static files: " + err.Error())
	}
	for _, e := range entries {
		body, err := staticFiles.ReadFile("static/" + e.Name())
		if err != nil {
			panic("web: embedded static files: " + err.Error())
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(e.Name())
		name := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ct, ok := staticTypes[ext]
		if !ok {
			panic("web: no content type for static file " + e.Name())
		}
		byName[name] = staticFile{body: body, contentType: ct}
		urls[e.Name()] = "/static/" + name
	}
	return byName, urls
}

// staticPath is the fingerprinted URL of the embedded file name (a template
// function); it panics on a name that is not embedded, which the page
// tests catch.
func staticPath(name string) string {
	u, ok := staticURL[name]
	if !ok {
		panic("web: no static file " + name)
	}
	return u
}

// serveStatic is GET /static/{file}.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := staticByName[chi.URLParam(r, "file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(f.body)
}
