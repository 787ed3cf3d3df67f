package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/identity"
	"github.com/heraldmail/herald/web/form"
)

// invalidField is the message of each form field the core may refuse.
var invalidField = map[string]string{
	"email":     "error.invalid_email",
	"password":  "error.invalid_password",
	"name":      "error.invalid_name",
	"full_name": "error.invalid_name",
	"comment":   "error.invalid_comment",
	"token":     "error.invalid_token",
}

// fieldErrors maps what the core refused onto the form's fields; ok is
// false for errors no visitor can fix (they go to the error page).
func fieldErrors(err error) (e form.Errors, ok bool) {
	e = form.Errors{}
	var ve *domain.ValidationError
	var rl *identity.RateLimitedError
	switch {
	case errors.As(err, &ve):
		for _, f := range ve.Fields {
			if id, ok := invalidField[f.Field]; ok {
				e.Add(f.Field, id)
			} else {
				e.Add(form.FormField, "error.invalid_form")
			}
		}
	case errors.Is(err, domain.ErrEmailTaken):
		e.Add("email", "error.email_taken")
	case errors.Is(err, identity.ErrBadCredentials):
		e.Add(form.FormField, "error.bad_credentials")
	case errors.Is(err, domain.ErrEmailNotVerified):
		e.Add(form.FormField, "error.email_not_verified")
	case errors.Is(err, domain.ErrUserBlocked):
		e.Add(form.FormField, "error.account_blocked")
	case errors.As(err, &rl):
		e.Add(form.FormField, "error.rate_limited")
	default:
		return nil, false
	}
	return e, true
}

// refusedStatus is the status of a form refused with err (nil when the form
// itself was incomplete): 429 with Retry-After while the identity service
// throttles the caller, 422 otherwise.
func refusedStatus(w http.ResponseWriter, err error) int {
	var rl *identity.RateLimitedError
	if !errors.As(err, &rl) {
		return http.StatusUnprocessableEntity
	}
	w.Header().Set("Retry-After", strconv.Itoa(int((rl.RetryAfter()+time.Second-1)/time.Second)))
	return http.StatusTooManyRequests
}
