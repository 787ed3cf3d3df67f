package compose

import "strings"

// Fields are what a template may use of a client. They have no methods on
// purpose: a template reaches only these four strings.
type Fields struct {
	FullName       string
	Email          string
	Comment        string
	UnsubscribeURL string
}

// fieldNames are the names a template may use after the dot.
var fieldNames = map[string]bool{"FullName": true, "Email": true, "Comment": true, "UnsubscribeURL": true}

// funcs is the one function of the template language besides the
// built-in comparisons the checker allows (allowedFuncs).
var funcs = map[string]any{"default": defaultText}

// allowedFuncs are the functions a template may call.
var allowedFuncs = map[string]bool{"default": true, "eq": true, "ne": true, "and": true, "or": true, "not": true}

// defaultText is value, or def when value is blank.
func defaultText(def, value string) string {
	if strings.TrimSpace(value) == "" {
		return def
	}
	return value
}

// samples are the clients a template is tried on when it is written: one
// with every field set and one with none, so both sides of an {{if}} on a
// field run once.
var samples = []Fields{
	{FullName: "Ann Example", Email: "ann@example.com", Comment: "comment", UnsubscribeURL: "https://example.com/unsubscribe"},
	{},
}
