// Package form turns the pages' submitted forms into the same calls the
// JSON API makes (identity.Registration, identity.Credentials, …) and checks
// only what the browser must fill in; the rules themselves (what a valid
// password or email is) stay in the core, whose errors the pages map back
// onto the fields.
package form

// Errors maps a field name ("email", "password", "name", "full_name", …, or
// FormField for the form as a whole) to a message id.
type Errors map[string]string

// FormField is the key of an error about the whole form.
const FormField = "_form"

// Add records the first error of field.
func (e Errors) Add(field, id string) {
	if _, ok := e[field]; !ok {
		e[field] = id
	}
}
