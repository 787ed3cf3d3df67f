package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// UserStreamType is the stream type of user aggregates.
const UserStreamType = "user"

// EmailClaimScope is the uniqueness scope of account emails: the normalized
// email is claimed in the same commit as the event that creates the account,
// so two concurrent registrations of one address make exactly one account.
const EmailClaimScope = "user_email"

// Verification and reset tokens are part of a user's history: the event that
// issues one carries only the token's SHA-256 (hex) and its expiry, never the
// token. The hash is also claimed (scopes below) in the same commit, which
// gives the HTTP layer an immediate hash → user lookup without waiting for a
// projector; the commit that consumes a token releases its claim, and the
// aggregate refuses a hash that is not its current pending one, so a token
// works once and only until it expires.
const (
	VerifyTokenClaimScope = "user_verify_token"
	ResetTokenClaimScope  = "user_reset_token"
)

// Account rules shared by the HTTP validation and the aggregate.
const (
	PasswordMinLen = 8
	PasswordMaxLen = 128
	NameMaxLen     = 255
	EmailMaxLen    = 254
)

// Errors of login and token use. The HTTP layer gives the first two their
// own problem codes (email_not_verified, user_blocked).
var (
	ErrEmailNotVerified = fmt.Errorf("%w: email address not verified", ErrForbidden)
	ErrUserBlocked      = fmt.Errorf("%w: account blocked", ErrForbidden)
	ErrTokenInvalid     = &ValidationError{Fields: []FieldError{{Field: "token", Message: "invalid, used or expired"}}}
)

// Refusals of blocking and activating, named so a page can say which rule
// refused.
var (
	ErrBlockSelf       = fmt.Errorf("%w: you cannot block yourself", ErrConflict)
	ErrSuperuserToggle = fmt.Errorf("%w: only a superuser blocks or activates a superuser", ErrForbidden)
)

// UserRegistered starts the stream of an account created by registration.
type UserRegistered struct {
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	PasswordHash string    `json:"password_hash"`
	Groups       []string  `json:"groups"`
	RegisteredAt time.Time `json:"registered_at"`
}

// UserSuperuserCreated starts the stream of a superuser made by `herald
// ccsu`: verified and active from the start.
type UserSuperuserCreated struct {
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	PasswordHash string    `json:"password_hash"`
	Groups       []string  `json:"groups"`
	RegisteredAt time.Time `json:"registered_at"`
}

// UserVerificationIssued records a verification token (its hash only).
type UserVerificationIssued struct {
	TokenHash string    `json:"token_hash"`
	ExpiresAt time.Time `json:"expires_at"`
}

// UserEmailVerified records that the owner of the address proved it.
type UserEmailVerified struct{}

// UserPasswordResetRequested records a reset token (its hash only).
type UserPasswordResetRequested struct {
	TokenHash string    `json:"token_hash"`
	ExpiresAt time.Time `json:"expires_at"`
}

// UserPasswordChanged carries the new password's hash, never the password.
type UserPasswordChanged struct {
	PasswordHash string `json:"password_hash"`
}

// UserBlocked: the account can no longer log in.
type UserBlocked struct{}

// UserActivated: a blocked account may log in again.
type UserActivated struct{}

// UserGroupsChanged replaces the account's group memberships.
type UserGroupsChanged struct {
	Groups []string `json:"groups"`
}

func (UserRegistered) EventType() string             { return "user.registered" }
func (UserSuperuserCreated) EventType() string       { return "user.superuser_created" }
func (UserVerificationIssued) EventType() string     { return "user.verification_issued" }
func (UserEmailVerified) EventType() string          { return "user.email_verified" }
func (UserPasswordResetRequested) EventType() string { return "user.password_reset_requested" }
func (UserPasswordChanged) EventType() string        { return "user.password_changed" }
func (UserBlocked) EventType() string                { return "user.blocked" }
func (UserActivated) EventType() string              { return "user.activated" }
func (UserGroupsChanged) EventType() string          { return "user.groups_changed" }

func init() {
	RegisterEvents(UserRegistered{}, UserSuperuserCreated{}, UserVerificationIssued{},
		UserEmailVerified{}, UserPasswordResetRequested{}, UserPasswordChanged{},
		UserBlocked{}, UserActivated{}, UserGroupsChanged{})
}

// NormalizeEmail is the form emails are compared and claimed in: trimmed and
// lower-cased.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// ValidateEmail checks a normalized email is a plain address.
func ValidateEmail(email string) error {
	if email == "" {
		return Invalid("email", "is required")
	}
	if len(email) > EmailMaxLen {
		return Invalid("email", fmt.Sprintf("must be at most %d characters", EmailMaxLen))
	}
	if msg := CheckEmail(email); msg != "" {
		return Invalid("email", msg)
	}
	return nil
}

// ValidatePassword checks the API's length rule (8–128 characters).
func ValidatePassword(password string) error {
	n := utf8.RuneCountInString(password)
	if n < PasswordMinLen || n > PasswordMaxLen {
		return Invalid("password", fmt.Sprintf("must be %d to %d characters", PasswordMinLen, PasswordMaxLen))
	}
	return nil
}

// NormalizeName trims name and checks it is present and short enough.
func NormalizeName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", Invalid("name", "is required")
	}
	if utf8.RuneCountInString(name) > NameMaxLen {
		return "", Invalid("name", fmt.Sprintf("must be at most %d characters", NameMaxLen))
	}
	return name, nil
}

// pendingToken is an issued, not yet used verification or reset token.
type pendingToken struct {
	hash    string
	expires time.Time
}

func (p pendingToken) accepts(hash string, now time.Time) bool {
	return p.hash != "" && hash == p.hash && now.Before(p.expires)
}

// User is an account: its credentials, verification, status and groups.
type User struct {
	Root
	id           uuid.UUID
	email        string
	name         string
	passwordHash string
	groups       []string
	verified     bool
	active       bool
	superuser    bool
	createdAt    time.Time
	verify       pendingToken
	reset        pendingToken
}

// NewAccount is what registration and ccsu need to create an account.
type NewAccount struct {
	ID           uuid.UUID
	Email        string // normalized or not; it is normalized here
	Name         string
	PasswordHash string
	Groups       []string
}

func (a NewAccount) check() (NewAccount, error) {
	var fields []FieldError
	add := func(err error) {
		var ve *ValidationError
		if errors.As(err, &ve) {
			fields = append(fields, ve.Fields...)
		}
	}
	if a.ID == uuid.Nil {
		return a, errors.New("domain: account without id")
	}
	if a.PasswordHash == "" {
		return a, errors.New("domain: account without password hash")
	}
	a.Email = NormalizeEmail(a.Email)
	add(ValidateEmail(a.Email))
	name, err := NormalizeName(a.Name)
	add(err)
	a.Name = name
	if len(fields) > 0 {
		return a, &ValidationError{Fields: fields}
	}
	a.Groups = normalizeSet(a.Groups)
	return a, nil
}

// Register creates an unverified, active account in its groups and issues
// its first verification token (hash and expiry).
func Register(a NewAccount, now time.Time, verifyHash string, verifyExpires time.Time) (*User, error) {
	a, err := a.check()
	if err != nil {
		return nil, err
	}
	if verifyHash == "" {
		return nil, errors.New("domain: registration without verification token")
	}
	u := &User{id: a.ID}
	u.record(u.apply, UserRegistered{Email: a.Email, Name: a.Name, PasswordHash: a.PasswordHash, Groups: a.Groups, RegisteredAt: now.UTC()})
	u.record(u.apply, UserVerificationIssued{TokenHash: verifyHash, ExpiresAt: verifyExpires.UTC()})
	return u, nil
}

// CreateSuperuser creates a verified, active superuser account.
func CreateSuperuser(a NewAccount, now time.Time) (*User, error) {
	a, err := a.check()
	if err != nil {
		return nil, err
	}
	u := &User{id: a.ID}
	u.record(u.apply, UserSuperuserCreated{Email: a.Email, Name: a.Name, PasswordHash: a.PasswordHash, Groups: a.Groups, RegisteredAt: now.UTC()})
	return u, nil
}

// LoadUser rebuilds an account from its history.
func LoadUser(id uuid.UUID, history []Event) *User {
	u := &User{id: id}
	u.replay(u.apply, history)
	return u
}

// Exists reports whether the account's stream has been created.
func (u *User) Exists() bool { return u.email != "" }

func (u *User) ID() uuid.UUID        { return u.id }
func (u *User) Email() string        { return u.email }
func (u *User) Name() string         { return u.name }
func (u *User) PasswordHash() string { return u.passwordHash }
func (u *User) Groups() []string     { return slices.Clone(u.groups) }
func (u *User) EmailVerified() bool  { return u.verified }
func (u *User) Active() bool         { return u.active }

// Blocked reports whether a manager blocked the account: it neither logs in
// nor sends mail until activated. An account that does not exist is not
// blocked.
func (u *User) Blocked() bool         { return u.Exists() && !u.active }
func (u *User) Superuser() bool       { return u.superuser }
func (u *User) Staff() bool           { return IsStaff(u.groups, u.superuser) }
func (u *User) CreatedAt() time.Time  { return u.createdAt }
func (u *User) PendingVerify() string { return u.verify.hash }
func (u *User) PendingReset() string  { return u.reset.hash }

// CanLogin says why the account may not log in (the password already
// matched): blocked first, then unverified.
func (u *User) CanLogin() error {
	if !u.Exists() {
		return NotFound("user")
	}
	if !u.active {
		return ErrUserBlocked
	}
	if !u.verified {
		return ErrEmailNotVerified
	}
	return nil
}

// VerifyEmail consumes the pending verification token with hash tokenHash.
func (u *User) VerifyEmail(tokenHash string, now time.Time) error {
	if !u.verify.accepts(tokenHash, now) {
		return ErrTokenInvalid
	}
	u.record(u.apply, UserEmailVerified{})
	return nil
}

// RequestPasswordReset issues a reset token; it replaces an earlier one.
func (u *User) RequestPasswordReset(tokenHash string, expires time.Time) error {
	if !u.Exists() {
		return NotFound("user")
	}
	if tokenHash == "" {
		return errors.New("domain: reset without token")
	}
	u.record(u.apply, UserPasswordResetRequested{TokenHash: tokenHash, ExpiresAt: expires.UTC()})
	return nil
}

// ResetPassword consumes the pending reset token and sets a new password
// hash. Using a link sent to the address also proves the address, so an
// unverified account becomes verified.
func (u *User) ResetPassword(tokenHash, newHash string, now time.Time) error {
	if !u.reset.accepts(tokenHash, now) {
		return ErrTokenInvalid
	}
	if newHash == "" {
		return errors.New("domain: password change without hash")
	}
	u.record(u.apply, UserPasswordChanged{PasswordHash: newHash})
	if !u.verified {
		u.record(u.apply, UserEmailVerified{})
	}
	return nil
}

// Block stops the account from logging in; blocking a blocked account
// records nothing.
func (u *User) Block() error {
	if !u.Exists() {
		return NotFound("user")
	}
	if u.active {
		u.record(u.apply, UserBlocked{})
	}
	return nil
}

// Activate lets a blocked account log in again.
func (u *User) Activate() error {
	if !u.Exists() {
		return NotFound("user")
	}
	if !u.active {
		u.record(u.apply, UserActivated{})
	}
	return nil
}

// SetGroups replaces the account's groups (the caller checked they exist).
func (u *User) SetGroups(groups []string) error {
	if !u.Exists() {
		return NotFound("user")
	}
	groups = normalizeSet(groups)
	if slices.Equal(groups, u.groups) {
		return nil
	}
	u.record(u.apply, UserGroupsChanged{Groups: groups})
	return nil
}

func (u *User) apply(e Event) {
	switch e := e.(type) {
	case UserRegistered:
		u.email, u.name, u.passwordHash = e.Email, e.Name, e.PasswordHash
		u.groups = normalizeSet(e.Groups)
		u.active = true
		u.createdAt = e.RegisteredAt
	case UserSuperuserCreated:
		u.email, u.name, u.passwordHash = e.Email, e.Name, e.PasswordHash
		u.groups = normalizeSet(e.Groups)
		u.active, u.verified, u.superuser = true, true, true
		u.createdAt = e.RegisteredAt
	case UserVerificationIssued:
		u.verify = pendingToken{hash: e.TokenHash, expires: e.ExpiresAt}
	case UserEmailVerified:
		u.verified = true
		u.verify = pendingToken{}
	case UserPasswordResetRequested:
		u.reset = pendingToken{hash: e.TokenHash, expires: e.ExpiresAt}
	case UserPasswordChanged:
		u.passwordHash = e.PasswordHash
		u.reset = pendingToken{}
	case UserBlocked:
		u.active = false
	case UserActivated:
		u.active = true
	case UserGroupsChanged:
		u.groups = normalizeSet(e.Groups)
	}
}
