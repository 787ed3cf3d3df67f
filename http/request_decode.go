package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"

	"github.com/heraldmail/herald/domain"
)

// maxBodyBytes is the largest request body accepted unless a route says
// more (the API contract: 1 MiB → 413; see largeBodies).
const maxBodyBytes = 1 << 20

// validate checks `validate:"…"` struct tags; errors name fields by their
// JSON names.
var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(jsonName)
	return v
}

// jsonName is a struct field's name on the wire ("-" when it has none).
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" {
		return "-"
	}
	if name == "" {
		return f.Name
	}
	return name
}

// decode reads one JSON value from the request body into dst (a pointer to a
// struct) and validates it. It returns an error for respondError:
//   - body over the route's limit (1 MiB unless largeBodies says) → 413 payload_too_large
//   - a Content-Type other than JSON → 415 unsupported_media (absent is accepted)
//   - empty body, syntax error, unknown field, wrong JSON type, trailing data,
//     null as the body or as a member of it → 400 malformed_json, naming the
//     field when it can
//   - a `validate` tag broken → 422 validation_failed (*domain.ValidationError),
//     one entry per field with its JSON name.
//
// Usage: if err := decode(w, r, &req); err != nil { respondError(w, r, err); return }
func decode(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return problem(CodeUnsupportedMedia, fmt.Sprintf("Content-Type must be application/json, got %q", ct))
		}
	}
	limit := bodyLimitOf(r)
	if r.ContentLength > limit {
		return tooLarge(limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe.Limit)
		}
		return &ProblemError{Code: CodeMalformedJSON, Detail: "could not read the request body", Err: err}
	}
	if err := decodeJSON(body, dst); err != nil {
		return err
	}
	return validateStruct(dst)
}

func tooLarge(limit int64) error {
	return problem(CodePayloadTooLarge, fmt.Sprintf("the request body must be at most %d bytes", limit))
}

// decodeJSON is decode without the HTTP parts: strict JSON into dst.
func decodeJSON(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return problem(CodeMalformedJSON, "the request body is empty; a JSON object is expected")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err, body, dst)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return problem(CodeMalformedJSON, "the request body must hold a single JSON value; found more after it")
	}
	return refuseNulls(body)
}

// refuseNulls refuses null where the API takes a value: as the body, or as
// a member of the body's object. encoding/json reads null as "not sent",
// which would let a PATCH that sends "subject": null change nothing and
// answer 200; no request field of the API is nullable.
func refuseNulls(body []byte) error {
	if !bytes.Contains(body, []byte("null")) {
		return nil // no null anywhere: nothing to refuse, and no second parse
	}
	trimmed := bytes.TrimSpace(body)
	if bytes.Equal(trimmed, []byte("null")) {
		return problem(CodeMalformedJSON, "the body must be a JSON object, got null")
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(trimmed, &raw) != nil {
		return nil
	}
	var fields []domain.FieldError
	for name, v := range raw {
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			fields = append(fields, domain.FieldError{Field: name, Message: "must not be null (leave the field out instead)"})
		}
	}
	if len(fields) == 0 {
		return nil
	}
	slices.SortFunc(fields, func(a, b domain.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return &ProblemError{Code: CodeMalformedJSON, Detail: fields[0].Field + ": " + fields[0].Message, Fields: fields}
}

func malformedField(field, message string) error {
	return &ProblemError{Code: CodeMalformedJSON, Detail: field + ": " + message,
		Fields: []domain.FieldError{{Field: field, Message: message}}}
}

// jsonProblem turns an encoding/json error into a 400 malformed_json.
func jsonProblem(err error, body []byte, dst any) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return problem(CodeMalformedJSON, fmt.Sprintf("invalid JSON at byte %d: %v", syn.Offset, syn))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problem(CodeMalformedJSON, "the JSON body ends too early")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return problem(CodeMalformedJSON, fmt.Sprintf("the body must be a JSON %s, got %s", jsonKind(typ.Type), typ.Value))
		}
		return malformedField(typ.Field, fmt.Sprintf("must be %s, got %s", jsonKind(typ.Type), typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return malformedField(field, "is not a known field")
	}
	// An UnmarshalJSON method failed (time.Time, uuid.UUID…): encoding/json
	// does not say where, so find the top-level field whose value fails alone.
	field := failingField(body, dst)
	var pe *time.ParseError
	msg := "has an invalid value: " + err.Error()
	if errors.As(err, &pe) {
		msg = "must be an RFC 3339 time such as 2026-11-25T09:00:00Z"
	}
	if field == "" {
		return &ProblemError{Code: CodeMalformedJSON, Detail: "invalid value: " + err.Error()}
	}
	return malformedField(field, msg)
}

// jsonKind names the JSON type a Go type is decoded from, for messages.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a " + t.String()
}

// failingField returns the top-level JSON key whose value does not decode
// into its field of dst on its own, or "".
func failingField(body []byte, dst any) string {
	var raw map[string]json.RawMessage
	if json.Unmarshal(body, &raw) != nil {
		return ""
	}
	t := reflect.TypeOf(dst)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return ""
	}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name := jsonName(f)
		v, ok := raw[name]
		if !ok {
			continue
		}
		if json.Unmarshal(v, reflect.New(f.Type).Interface()) != nil {
			return name
		}
	}
	return ""
}

// validateStruct runs the `validate` tags of v and returns a
// *domain.ValidationError naming each bad field by its JSON path.
func validateStruct(v any) error {
	err := validate.Struct(v)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		// InvalidValidationError: the handler passed a non-struct; a bug.
		return fmt.Errorf("validate %T: %w", v, err)
	}
	out := &domain.ValidationError{}
	for _, fe := range verrs {
		out.Fields = append(out.Fields, domain.FieldError{Field: fieldPath(fe), Message: fieldMessage(fe)})
	}
	return out
}

// fieldPath drops the top struct's name: "createClient.email" → "email",
// "req.items[2].email" → "items[2].email".
func fieldPath(fe validator.FieldError) string {
	ns := fe.Namespace()
	if _, rest, ok := strings.Cut(ns, "."); ok {
		return rest
	}
	return fe.Field()
}

// fieldMessage is a human sentence for the rule that failed, completing the
// field name: "email must be a valid email".
func fieldMessage(fe validator.FieldError) string {
	p := fe.Param()
	kind := fe.Kind()
	for kind == reflect.Pointer {
		kind = fe.Type().Elem().Kind()
	}
	size := func() string {
		switch kind {
		case reflect.String:
			return p + " characters"
		case reflect.Slice, reflect.Array, reflect.Map:
			return p + " items"
		}
		return p
	}
	switch fe.Tag() {
	case "required", "required_if", "required_unless", "required_with", "required_without":
		return "is required"
	case "email":
		return "must be a valid email"
	case "max":
		return "must be at most " + size()
	case "min":
		return "must be at least " + size()
	case "len":
		return "must be exactly " + size()
	case "lte":
		return "must be at most " + size()
	case "gte":
		return "must be at least " + size()
	case "lt":
		return "must be less than " + size()
	case "gt":
		return "must be greater than " + size()
	case "oneof":
		return "must be one of: " + strings.Join(strings.Fields(p), ", ")
	case "uuid", "uuid4", "uuid7", "uuid_rfc4122":
		return "must be a valid UUID"
	case "url", "http_url":
		return "must be a valid URL"
	case "timezone":
		return "must be an IANA time zone such as Europe/Paris"
	case "datetime":
		return "must be a date-time in the format " + p
	case "dive":
		return "has an invalid item"
	case "unique":
		return "must not contain duplicates"
	case "ltfield":
		return "must be before " + p
	case "gtfield":
		return "must be after " + p
	case "eqfield":
		return "must equal " + p
	case "alphanum":
		return "must contain only letters and digits"
	case "printascii":
		return "must contain only printable ASCII"
	}
	return "is invalid (" + fe.Tag() + ")"
}
