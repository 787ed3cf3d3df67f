package http

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/domain"
)

// Stable problem codes of the API contract. Clients switch on these, never on titles.
const (
	CodeValidationFailed = "validation_failed"  // 422
	CodeMalformedJSON    = "malformed_json"     // 400
	CodeMalformedHeader  = "malformed_header"   // 400 (If-Match, X-Min-Position)
	CodeUnauthenticated  = "unauthenticated"    // 401
	CodeForbidden        = "forbidden"          // 403
	CodeNotFound         = "not_found"          // 404
	CodeMethodNotAllowed = "method_not_allowed" // 405
	CodeConflict         = "conflict"           // 409
	CodeEmailTaken       = "email_taken"        // 409
	CodeEmailNotVerified = "email_not_verified" // 403
	CodeUserBlocked      = "user_blocked"       // 403
	CodePayloadTooLarge  = "payload_too_large"  // 413
	CodeUnsupportedMedia = "unsupported_media"  // 415
	CodeRateLimited      = "rate_limited"       // 429
	CodeInternal         = "internal"           // 500
	CodeProjectionLag    = "projection_lag"     // 503
)

// codeInfo is each stable code's status and default title.
var codeInfo = map[string]struct {
	status int
	title  string
}{
	CodeValidationFailed: {http.StatusUnprocessableEntity, "Validation failed"},
	CodeMalformedJSON:    {http.StatusBadRequest, "Malformed JSON body"},
	CodeMalformedHeader:  {http.StatusBadRequest, "Malformed header"},
	CodeUnauthenticated:  {http.StatusUnauthorized, "Authentication required"},
	CodeForbidden:        {http.StatusForbidden, "Forbidden"},
	CodeNotFound:         {http.StatusNotFound, "Not found"},
	CodeMethodNotAllowed: {http.StatusMethodNotAllowed, "Method not allowed"},
	CodeConflict:         {http.StatusConflict, "Conflict"},
	CodeEmailTaken:       {http.StatusConflict, "Email already taken"},
	CodeEmailNotVerified: {http.StatusForbidden, "Email not verified"},
	CodeUserBlocked:      {http.StatusForbidden, "User blocked"},
	CodePayloadTooLarge:  {http.StatusRequestEntityTooLarge, "Payload too large"},
	CodeUnsupportedMedia: {http.StatusUnsupportedMediaType, "Unsupported media type"},
	CodeRateLimited:      {http.StatusTooManyRequests, "Too many requests"},
	CodeInternal:         {http.StatusInternalServerError, "Internal server error"},
	CodeProjectionLag:    {http.StatusServiceUnavailable, "Read model not caught up"},
}

// problemTypeBase prefixes the code to form the RFC 9457 "type" URI. A URN:
// it identifies the problem kind without promising a page to fetch.
const problemTypeBase = "urn:herald:problem:"

// Problem is an RFC 9457 problem document with Herald's extension members.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail,omitempty"`
	Code      string              `json:"code"`
	Errors    []domain.FieldError `json:"errors,omitempty"`
	RequestID string              `json:"request_id,omitempty"`
}

// ProblemError is an error that says exactly how HTTP must answer it. Any
// handler in this package can return one (through respondError) for answers
// the domain error classes do not cover. Status and Title default from Code
// when it is one of the stable codes. Err, when set, is never shown; it is
// logged when the answer is a server error.
type ProblemError struct {
	Status  int
	Code    string
	Title   string
	Detail  string
	Fields  []domain.FieldError
	Headers http.Header
	Err     error
}

func (e *ProblemError) Error() string {
	msg := e.Code
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *ProblemError) Unwrap() error { return e.Err }

// problem returns a ProblemError for one of the stable codes.
func problem(code, detail string) *ProblemError {
	return &ProblemError{Code: code, Detail: detail}
}

// CodedError is implemented by errors from packages that cannot import this
// one (commands, identity services) but need a stable code of their own, such
// as email_not_verified, user_blocked or rate_limited. The status comes from
// the code's entry in the API contract; an unknown code answers 500. An error that also
// has RetryAfter() time.Duration gets a Retry-After header (rate_limited).
type CodedError interface {
	error
	Code() string
}

type retryAfterError interface {
	RetryAfter() time.Duration
}

// problemFor is the one place errors become statuses: it maps the error
// classes (domain/errors.go), coded errors and ProblemErrors to the problem
// document that answers them, with any header that goes with it
// (Retry-After). failure reports the server's own failure: anything
// unknown is a 500 whose text is logged and never shown.
func problemFor(err error) (p Problem, header http.Header, failure bool) {
	if err == nil {
		err = errors.New("respondError called with a nil error")
	}
	var (
		pe    *ProblemError
		ve    *domain.ValidationError
		coded CodedError
		mbe   *http.MaxBytesError
	)
	switch {
	case errors.As(err, &pe):
		p = Problem{Status: pe.Status, Code: pe.Code, Title: pe.Title, Detail: pe.Detail, Errors: pe.Fields}.complete()
		return p, pe.Headers, pe.Err != nil && p.Status >= 500
	case errors.As(err, &coded):
		info, known := codeInfo[coded.Code()]
		if !known || info.status >= 500 {
			return internalProblem(), nil, true
		}
		var ra retryAfterError
		if errors.As(err, &ra) && ra.RetryAfter() > 0 {
			secs := int((ra.RetryAfter() + time.Second - 1) / time.Second)
			header = http.Header{"Retry-After": {strconv.Itoa(secs)}}
		}
		p = Problem{Code: coded.Code(), Detail: coded.Error()}
	case errors.As(err, &ve):
		p = Problem{Code: CodeValidationFailed, Detail: "one or more fields are invalid", Errors: ve.Fields}
	case errors.Is(err, domain.ErrInvalid):
		p = Problem{Code: CodeValidationFailed, Detail: err.Error()}
	case errors.Is(err, domain.ErrEmailTaken):
		p = Problem{Code: CodeEmailTaken, Detail: "an account or client with this email already exists",
			Errors: []domain.FieldError{{Field: "email", Message: "is already taken"}}}
	case errors.Is(err, domain.ErrNotFound):
		p = Problem{Code: CodeNotFound, Detail: err.Error()}
	case errors.Is(err, domain.ErrConflict):
		p = Problem{Code: CodeConflict, Detail: err.Error()}
	case errors.Is(err, domain.ErrForbidden):
		p = Problem{Code: CodeForbidden, Detail: err.Error()}
	case errors.As(err, &mbe):
		p = Problem{Code: CodePayloadTooLarge, Detail: "the request body is larger than " + strconv.FormatInt(mbe.Limit, 10) + " bytes"}
	default:
		return internalProblem(), nil, true
	}
	return p.complete(), header, false
}

// internalProblem is the answer to the server's own failure.
func internalProblem() Problem {
	return Problem{Code: CodeInternal, Detail: "the server failed to handle the request; quote the request_id when reporting it"}.complete()
}

// complete fills in type, title and status from the code.
func (p Problem) complete() Problem {
	if info, ok := codeInfo[p.Code]; ok {
		if p.Status == 0 {
			p.Status = info.status
		}
		if p.Title == "" {
			p.Title = info.title
		}
	}
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Code == "" {
		p.Code = CodeInternal
	}
	if p.Type == "" {
		p.Type = problemTypeBase + p.Code
	}
	return p
}

// logFailure logs an error the client will not see. A request the client
// abandoned is not the server's failure and logs at info.
func logFailure(r *http.Request, err error) {
	log := zerolog.Ctx(r.Context())
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		log.Info().Err(err).Msg("request abandoned by the client")
		return
	}
	log.Error().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("request failed")
}
