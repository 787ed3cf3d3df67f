package identity

import (
	"context"
	"embed"
	"strings"
	"text/template"
	"time"

	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/mail"
)

// Mailer sends one message; *mail.Client is one.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) mail.Result
}

// The account mails' bodies, one template per kind, named after it.
//
//go:embed templates/*.txt
var templateFiles embed.FS

var mailTemplates = template.Must(template.New("").Option("missingkey=error").ParseFS(templateFiles, "templates/*.txt"))

// accountMail is one kind of account mail. Its body names a token that
// also stands alone on a line: mail clients and scripts that see the
// quoted-printable source (where "=" is "=3D" and long lines are folded)
// can still copy it whole.
type accountMail struct {
	kind    string // the template's name, and what the log says
	subject string
}

var (
	verificationMail = accountMail{kind: "verification", subject: "Confirm your Herald account"}
	resetMail        = accountMail{kind: "password_reset", subject: "Reset your Herald password"}
)

// mailData is what a template sees: nothing a caller typed (such as the
// account's name), so nobody can make Herald mail their text to an address.
type mailData struct {
	BaseURL string // PUBLIC_BASE_URL, without a trailing slash
	Token   string
	TTL     time.Duration // how long the token works
}

func (m accountMail) render(d mailData) (string, error) {
	var b strings.Builder
	if err := mailTemplates.ExecuteTemplate(&b, m.kind+".txt", d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// sendMail sends one account mail to u with token, logging the outcome
// (never the body: it holds the token).
func (s *Service) sendMail(ctx context.Context, log zerolog.Logger, m accountMail, u *domain.User, token string, ttl time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	body, err := m.render(mailData{BaseURL: s.cfg.PublicBaseURL, Token: token, TTL: ttl})
	res := mail.Result{Outcome: mail.Permanent, Err: err}
	if err == nil {
		res = s.cfg.Mailer.Send(ctx, mail.Message{To: u.Email(), Subject: m.subject, TextBody: body})
	}
	ev := log.Info()
	if !res.OK() {
		ev = log.Error().Err(res.Err)
	}
	ev.Str("mail", m.kind).Str("user_id", u.ID().String()).Str("outcome", res.Outcome.String()).
		Str("server_response", res.Response).Msg("identity mail")
}
