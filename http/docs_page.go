package http

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"
)

// The API reference page, GET /api/docs: Redoc renders api/openapi.yaml in
// the browser. Redoc's standalone bundle is vendored in apidocs/
// (scripts/redoc.sh), and a small module of ours starts it, so the page
// holds no inline script and keeps a strict Content-Security-Policy.

//go:embed templates/docs.html
var docsFS embed.FS

// The page's scripts, embedded as variables: they stay in the binary's
// data and are written from there, never copied to the heap as reading
// them from an embed.FS would (Redoc's bundle is over 2 MB).
var (
	//go:embed apidocs/redoc.standalone.js
	redocScript []byte
	//go:embed apidocs/docs.js
	docsScript []byte
)

// docsSpecURL is where the page's Redoc reads the document (routes.go
// serves it there).
const docsSpecURL = "/api/openapi.yaml"

// docsPolicy lets the page run Herald's own scripts only and reach no other
// site. Redoc styles its components with <style> elements it writes (hence
// 'unsafe-inline' for styles, never for scripts). Two things Redoc tries are
// refused, and it does without them: compiling its search worker from a
// string (eval; it then searches in the page) and the Redocly logo of its
// footer badge from Redocly's CDN (it then shows the badge's text alone).
const docsPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// docsAsset is a script of the page under its fingerprinted name.
type docsAsset struct {
	body []byte
	url  string // /api/docs/<name>.<hash>.js
}

// docsSite is the page and its scripts by fingerprinted file name.
type docsSite struct {
	page   []byte
	assets map[string]docsAsset
}

// docs makes the site on the reference's first request: fingerprinting
// reads the whole of Redoc's bundle, which a process whose reference
// nobody opens then never pages in.
var docs = sync.OnceValue(mustRenderDocs)

// mustRenderDocs fingerprints the page's scripts (a changed file is a new
// URL, so browsers may keep each a year) and renders the page that names
// them. It panics if the template does not render, which every test of the
// reference would show.
func mustRenderDocs() docsSite {
	site := docsSite{assets: map[string]docsAsset{}}
	urls := map[string]string{}
	for name, body := range map[string][]byte{"redoc.standalone.js": redocScript, "docs.js": docsScript} {
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		file := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		a := docsAsset{body: body, url: "/api/docs/" + file}
		site.assets[file] = a
		urls[name] = a.url
	}
	tmpl := template.Must(template.ParseFS(docsFS, "templates/docs.html"))
	var buf bytes.Buffer
	data := struct{ Spec, Script, Redoc string }{docsSpecURL, urls["docs.js"], urls["redoc.standalone.js"]}
	if err := tmpl.Execute(&buf, data); err != nil {
		panic("http: render the API reference page: " + err.Error())
	}
	site.page = buf.Bytes()
	return site
}

// apiReference is GET /api/docs, open to everyone.
func apiReference(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", docsPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-cache") // names the scripts of this build
	respondDocument(w, r, "text/html; charset=utf-8", docs().page)
}

// apiReferenceAsset is GET /api/docs/{asset}: a script of the page, under
// its fingerprinted name.
func apiReferenceAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := docs().assets[chi.URLParam(r, "asset")]
	if !ok {
		respondError(w, r, problem(CodeNotFound, "no such file of the API reference: "+r.URL.Path))
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	respondDocument(w, r, "text/javascript; charset=utf-8", a.body)
}
