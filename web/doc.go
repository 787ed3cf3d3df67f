// Package web is Herald's second front door: server-rendered HTML pages for
// people, beside the JSON API for programs. It owns the page routes, the
// session cookie (the same opaque token the API issues), cross-origin
// protection, the security headers, the embedded templates, static files and
// the English and Russian message catalogues. It decides nothing itself: each
// page or action (one small file, <thing>_<action>.go) turns a form into the
// identity service's or the read models' calls, the same the API makes, and
// renders the answer.
package web
