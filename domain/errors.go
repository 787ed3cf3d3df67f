package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Error classes. Every error the domain or a command handler returns wraps
// one of these, so the HTTP layer translates errors in one place without
// knowing each one.
var (
	ErrNotFound   = errors.New("not found")
	ErrConflict   = errors.New("conflict")
	ErrInvalid    = errors.New("invalid")
	ErrForbidden  = errors.New("forbidden")
	ErrEmailTaken = fmt.Errorf("%w: email already taken", ErrConflict)
)

// Conflict returns an error of class ErrConflict with msg.
func Conflict(msg string) error { return fmt.Errorf("%w: %s", ErrConflict, msg) }

// NotFound returns an error of class ErrNotFound with msg.
func NotFound(msg string) error { return fmt.Errorf("%w: %s", ErrNotFound, msg) }

// Forbidden returns an error of class ErrForbidden with msg.
func Forbidden(msg string) error { return fmt.Errorf("%w: %s", ErrForbidden, msg) }

// FieldError says what is wrong with one input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists the fields that broke a rule; it is of class ErrInvalid.
type ValidationError struct {
	Fields []FieldError
}

// Invalid returns a ValidationError for one field.
func Invalid(field, message string) *ValidationError {
	return &ValidationError{Fields: []FieldError{{Field: field, Message: message}}}
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid: " + strings.Join(parts, "; ")
}

func (e *ValidationError) Unwrap() error { return ErrInvalid }
