package web

import (
	"bytes"
	"errors"
	"net/http"

	"github.com/heraldmail/herald/internal/history"
)

// showMailingProgress is GET /mailings/{id}/progress, the runs section of
// the mailing page as htmx re-fetches it every two seconds while a run
// sends; the section it answers stops the polling once nothing sends. A
// request that is not htmx's goes to the whole page.
func (h *Handler) showMailingProgress(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "HX-Request")
	id, ok := shownMailingID(r)
	if !ok {
		h.showNotFound(w, r)
		return
	}
	if r.Header.Get("HX-Request") != "true" {
		http.Redirect(w, r, "/mailings/"+id.String(), http.StatusSeeOther)
		return
	}
	doc, ok := h.shownMailing(w, r, id, history.Options{})
	if !ok {
		return
	}
	p := detailProgressOf(doc)
	p.Refreshed = true
	// A view without the flash: the page that polls has shown it.
	l := localeOf(r)
	v := &View{Lang: l.lang, Path: "/mailings/" + id.String(), Signed: true, Who: principal(r), loc: l, tz: timeZone(r),
		Data: &mailingDetail{ID: id, Progress: p}}
	h.renderFragment(w, r, "mailing", "mailing_runs", v)
}

// renderFragment writes the template name of page's set alone, for htmx
// to swap into the page.
func (h *Handler) renderFragment(w http.ResponseWriter, r *http.Request, page, name string, v *View) {
	t, ok := h.pages.page(v.Lang, page)
	if !ok {
		h.fail(w, r, errors.New("web: no page "+page))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}
