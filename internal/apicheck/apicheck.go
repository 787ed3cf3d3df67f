// Package apicheck holds the JSON API to its description, api/openapi.yaml.
// Transport wraps a test's HTTP client: every request it sends to the API
// and every answer it gets back are checked against the document, and a
// breach fails the test with a message naming the operation. The client of
// internal/apptest goes through it, so every component test of the API
// checks the document as a side effect, without asking to.
//
// An exchange keeps the document's word when
//   - its path and method are an operation of the document, or else the
//     answer is a 404 or 405 problem document;
//   - the answer's status is one the operation declares (no `default`
//     stands in for the others), its Content-Type one the status declares,
//     its body valid against that schema and its declared headers valid;
//   - a request the document calls invalid (a missing or malformed
//     parameter, header, body or bearer token) is refused with a 4xx: the
//     server must not accept what the document rules out.
//
// The answers are held closed: an object schema that lists its properties
// and says nothing of others gets additionalProperties false while the
// tests check, so the server sends no field the document does not name.
// The published document stays open (clients must tolerate fields added
// later); only the server is held to it.
package apicheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"

	apidoc "github.com/heraldmail/herald/api"
)

func init() {
	// The pages and scripts the document describes are text, their schema
	// type: string; kin-openapi decodes other text types itself.
	for _, ct := range []string{"text/html", "text/javascript"} {
		if openapi3filter.RegisteredBodyDecoder(ct) == nil {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
		}
	}
}

// Document is a loaded API description with its router.
type Document struct {
	doc     *openapi3.T
	router  routers.Router
	problem *openapi3.Schema // components.schemas.Problem, what 404 and 405 answer
	opts    *openapi3filter.Options
}

var loadHerald = sync.OnceValues(func() (*Document, error) { return Load(apidoc.OpenAPI) })

// Herald is api/openapi.yaml, loaded once per test binary.
func Herald() (*Document, error) { return loadHerald() }

// Load reads an OpenAPI document (YAML or JSON) and checks it is valid.
func Load(spec []byte) (*Document, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("apicheck: load the document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("apicheck: the document is invalid: %w", err)
	}
	// The servers name where `make run` listens; a test server listens
	// elsewhere, and only the path matters here.
	doc.Servers = nil
	closeAnswers(doc)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("apicheck: route the document: %w", err)
	}
	d := &Document{doc: doc, router: router}
	if doc.Components != nil {
		if p := doc.Components.Schemas["Problem"]; p != nil {
			d.problem = p.Value
		}
	}
	d.opts = &openapi3filter.Options{
		IncludeResponseStatus:             true,
		RejectWhenRequestBodyNotSpecified: true,
		MultiError:                        true,
		SkipSettingDefaults:               true,
		AuthenticationFunc:                bearerPresent,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{
			openapi3.WithStringFormatValidators(map[string]openapi3.StringFormatValidator{
				"uuid":  openapi3.NewCallbackValidator(validUUID),
				"email": openapi3.NewCallbackValidator(validEmail),
			}),
		},
	}
	return d, nil
}

// bearerPresent holds a request to the document's security schemes as far
// as a document can: a bearer scheme needs an Authorization: Bearer header
// (whether the token is good is the server's to say, with a 401).
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s := in.SecurityScheme
	if s == nil || s.Type != "http" || !strings.EqualFold(s.Scheme, "bearer") {
		return nil
	}
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") || strings.TrimSpace(h[7:]) == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// validUUID is format: uuid, the canonical 36-character form.
func validUUID(s string) error {
	if len(s) != 36 {
		return errors.New("not a UUID")
	}
	_, err := uuid.Parse(s)
	return err
}

// validEmail is format: email, a bare address (no display name, no spaces).
func validEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return errors.New("not an email address")
	}
	return nil
}

// closeAnswers gives every object schema of the answers that lists its
// properties, and says nothing of others, additionalProperties: false.
// Schemas under allOf, anyOf or oneOf are left open: closing one branch
// would refuse the others' fields.
func closeAnswers(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.Responses == nil {
				continue
			}
			for _, r := range op.Responses.Map() {
				if r == nil || r.Value == nil {
					continue
				}
				for _, mt := range r.Value.Content {
					if mt != nil {
						closeSchema(mt.Schema, true, seen)
					}
				}
			}
		}
	}
}

func closeSchema(ref *openapi3.SchemaRef, closable bool, seen map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	s := ref.Value
	seen[s] = true
	if closable && len(s.Properties) > 0 &&
		s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil &&
		s.UnevaluatedProperties.Has == nil && s.UnevaluatedProperties.Schema == nil {
		s.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(false)}
	}
	for _, p := range s.Properties {
		closeSchema(p, true, seen)
	}
	closeSchema(s.Items, true, seen)
	closeSchema(s.AdditionalProperties.Schema, true, seen)
	for _, list := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
		for _, b := range list {
			closeSchema(b, false, seen)
		}
	}
}

// InScope tells whether a request to path is one the document speaks for:
// the JSON API under /api/ and the operations endpoints. The pages of the
// web interface, mounted on the same server, are not.
func InScope(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(path, "/api/")
}

// Exchange is one request and its answer, bodies read in full.
type Exchange struct {
	Request      *http.Request // its Body is not read; RequestBody is
	RequestBody  []byte
	Status       int
	Header       http.Header
	ResponseBody []byte
}

// Breach is an exchange that breaks the document.
type Breach struct {
	Operation string // "GET /api/v1/clients/{id} (getClient)", or the request line when no operation matches
	Status    int
	Problems  []string
}

func (b *Breach) Error() string {
	return fmt.Sprintf("api/openapi.yaml: %s answered %d, which breaks the document:\n\t%s",
		b.Operation, b.Status, strings.Join(b.Problems, "\n\t"))
}

// Check holds one exchange to the document; the error is a *Breach.
func (d *Document) Check(x Exchange) error {
	req := x.Request
	method := req.Method
	if method == http.MethodHead {
		method = http.MethodGet // a HEAD is answered as its GET, without a body
	}
	probe := req.Clone(req.Context())
	probe.Method = method
	probe.Body = io.NopCloser(bytes.NewReader(x.RequestBody))
	probe.ContentLength = int64(len(x.RequestBody))
	b := &Breach{Operation: req.Method + " " + req.URL.Path, Status: x.Status}

	route, pathParams, err := d.router.FindRoute(probe)
	if err != nil {
		want := http.StatusNotFound
		if errors.Is(err, routers.ErrMethodNotAllowed) || err.Error() == routers.ErrMethodNotAllowed.Error() {
			want = http.StatusMethodNotAllowed
		}
		if x.Status != want {
			b.Problems = append(b.Problems, fmt.Sprintf("no operation of the document matches (%v), so the answer must be %d", err, want))
		} else {
			b.Problems = append(b.Problems, d.checkProblem(x)...)
		}
		return b.orNil()
	}
	b.Operation = req.Method + " " + route.Path
	if id := route.Operation.OperationID; id != "" {
		b.Operation += " (" + id + ")"
	}

	in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: pathParams, Route: route, Options: d.opts}
	reqErr := openapi3filter.ValidateRequest(req.Context(), in)
	if reqErr != nil && x.Status < 400 {
		b.Problems = append(b.Problems, "the request breaks the document, yet the server accepted it: "+oneLine(reqErr))
	}
	if req.Method == http.MethodHead {
		// ValidateResponse skips HEAD; the status must still be declared.
		if route.Operation.Responses.Status(x.Status) == nil {
			b.Problems = append(b.Problems, "status "+strconv.Itoa(x.Status)+" is not declared")
		}
		return b.orNil()
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 x.Status,
		Header:                 x.Header,
		Options:                d.opts,
	}
	out.SetBodyBytes(x.ResponseBody)
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		b.Problems = append(b.Problems, describeResponseError(err, x))
	}
	return b.orNil()
}

// checkProblem holds the answer to a request for no operation to the
// Problem schema: the 404 and 405 the whole API answers.
func (d *Document) checkProblem(x Exchange) []string {
	if d.problem == nil {
		return nil
	}
	if ct := mediaType(x.Header.Get("Content-Type")); ct != "application/problem+json" {
		return []string{fmt.Sprintf("Content-Type %q, want application/problem+json", ct)}
	}
	var v any
	if err := json.Unmarshal(x.ResponseBody, &v); err != nil {
		return []string{"the problem document is not JSON: " + err.Error()}
	}
	if err := d.problem.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors(), openapi3.VisitAsResponse()); err != nil {
		return []string{"the problem document breaks #/components/schemas/Problem: " + oneLine(err)}
	}
	return nil
}

func describeResponseError(err error, x Exchange) string {
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) {
		switch {
		case re.Reason == "status is not supported":
			return fmt.Sprintf("status %d is not declared", x.Status)
		case strings.Contains(re.Reason, "Content-Type"):
			return fmt.Sprintf("Content-Type %q is not declared for status %d", x.Header.Get("Content-Type"), x.Status)
		}
	}
	return oneLine(err) + "\n\tbody: " + clip(x.ResponseBody)
}

func (b *Breach) orNil() error {
	if len(b.Problems) == 0 {
		return nil
	}
	return b
}

// oneLine folds kin-openapi's multi-line errors (which dump the schema)
// into the lines that say what is wrong.
func oneLine(err error) string {
	var keep []string
	for line := range strings.Lines(err.Error()) {
		line = strings.TrimSpace(line)
		switch {
		case line == "", strings.HasPrefix(line, "Schema:"), strings.HasPrefix(line, "Value:"),
			strings.HasPrefix(line, "{"), strings.HasPrefix(line, "}"), strings.HasPrefix(line, "\""),
			strings.HasPrefix(line, "]"), strings.HasPrefix(line, "["):
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, " | ")
}

func clip(b []byte) string {
	const max = 600
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// Transport returns a RoundTripper that sends through next (nil means
// http.DefaultTransport) and holds every exchange in scope (InScope) to
// the document, reporting a breach with t.Errorf. The caller gets the
// answer as sent, its body readable.
func (d *Document) Transport(t testing.TB, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{d: d, t: t, next: next}
}

type reportKey struct{}

// ReportTo makes a Transport report a breach by the requests made with the
// returned context to t rather than to the test it was built for: a
// subtest's or a fuzz input's own test, sharing its parent's client.
func ReportTo(ctx context.Context, t testing.TB) context.Context {
	return context.WithValue(ctx, reportKey{}, t)
}

type transport struct {
	d    *Document
	t    testing.TB
	next http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !InScope(req.URL.Path) {
		return tr.next.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil {
		var err error
		reqBody, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	send := req.Clone(req.Context())
	if req.Body != nil {
		send.Body = io.NopCloser(bytes.NewReader(reqBody))
		send.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	}
	res, err := tr.next.RoundTrip(send)
	if err != nil {
		return nil, err
	}
	resBody, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	if err := tr.d.Check(Exchange{Request: send, RequestBody: reqBody, Status: res.StatusCode, Header: res.Header, ResponseBody: resBody}); err != nil {
		t := tr.t
		if rt, ok := req.Context().Value(reportKey{}).(testing.TB); ok {
			t = rt
		}
		t.Errorf("%v", err)
	}
	return res, nil
}
