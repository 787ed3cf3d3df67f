package form

import (
	"net/http"
	"strings"

	"github.com/heraldmail/herald/identity"
)

// Register is the form of /register.
type Register struct {
	Email    string
	Password string
	Name     string
}

// NewRegister reads the form of r.
func NewRegister(r *http.Request) Register {
	return Register{Email: strings.TrimSpace(r.PostFormValue("email")), Password: r.PostFormValue("password"),
		Name: strings.TrimSpace(r.PostFormValue("name"))}
}

// Validate reports the empty fields.
func (f Register) Validate() Errors {
	e := Errors{}
	required(e, "email", f.Email)
	required(e, "password", f.Password)
	required(e, "name", f.Name)
	return e
}

// Registration is the identity service's registration; addr is the
// caller's address.
func (f Register) Registration(addr string) identity.Registration {
	return identity.Registration{Email: f.Email, Password: f.Password, Name: f.Name, Addr: addr}
}

// Login is the form of /login.
type Login struct {
	Email    string
	Password string
	Next     string
}

// NewLogin reads the form of r.
func NewLogin(r *http.Request) Login {
	return Login{Email: strings.TrimSpace(r.PostFormValue("email")), Password: r.PostFormValue("password"),
		Next: r.PostFormValue("next")}
}

// Validate reports the empty fields.
func (f Login) Validate() Errors {
	e := Errors{}
	required(e, "email", f.Email)
	required(e, "password", f.Password)
	return e
}

// Credentials are the identity service's login credentials; addr is the
// caller's address.
func (f Login) Credentials(addr string) identity.Credentials {
	return identity.Credentials{Email: f.Email, Password: f.Password, Addr: addr}
}

// PasswordReset is the form of /password-reset: an email asks for a reset
// mail; a token (from that mail) and a new password confirm it.
type PasswordReset struct {
	Email    string
	Token    string
	Password string
}

// NewPasswordReset reads the form of r.
func NewPasswordReset(r *http.Request) PasswordReset {
	return PasswordReset{Email: strings.TrimSpace(r.PostFormValue("email")), Token: strings.TrimSpace(r.PostFormValue("token")),
		Password: r.PostFormValue("password")}
}

// Confirming reports whether the form sets a new password.
func (f PasswordReset) Confirming() bool { return f.Token != "" }

// Validate reports the empty fields.
func (f PasswordReset) Validate() Errors {
	e := Errors{}
	if f.Confirming() {
		required(e, "password", f.Password)
	} else {
		required(e, "email", f.Email)
	}
	return e
}

func required(e Errors, field, value string) {
	if value == "" {
		e.Add(field, "error.required")
	}
}
