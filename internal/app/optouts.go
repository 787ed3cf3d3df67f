package app

import (
	"net/mail"
	"strings"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/commands"
	"github.com/heraldmail/herald/domain"
)

// wireOptOuts wires unsubscribing, bounces and suppression: the handler
// both doors and the sender call, and the links every mailing mail
// carries. Without UNSUBSCRIBE_SECRET (a process that neither mails nor
// serves the pages) no link is made and every token is refused.
func wireOptOuts(a *App) error {
	var signer *domain.UnsubscribeSigner
	if a.Config.UnsubscribeSecret != "" {
		s, err := domain.NewUnsubscribeSigner(a.Config.UnsubscribeSecret)
		if err != nil {
			return err
		}
		signer = s
		a.UnsubscribeLinks = unsubscribeLinks{signer: s, base: a.Config.PublicBaseURL, domain: mailDomain(a.Config.MailFrom)}
	}
	h, err := commands.NewOptOuts(a.Store, signer, domain.BounceLimits{
		NoMailbox: a.Config.SuppressAfterNoMailbox, Other: a.Config.SuppressAfterBounces}, a.Now)
	if err != nil {
		return err
	}
	a.resources.optOuts = a.Commands.OptOuts(h)
	return nil
}

// unsubscribeLinks builds the unsubscribe links of an owner's client:
// PUBLIC_BASE_URL/unsubscribe/TOKEN, and unsubscribe+TOKEN@ MAIL_FROM's
// domain.
type unsubscribeLinks struct {
	signer *domain.UnsubscribeSigner
	base   string
	domain string
}

// Links implements saga.UnsubscribeLinker.
func (l unsubscribeLinks) Links(owner, client uuid.UUID) domain.UnsubscribeLinks {
	return l.signer.Links(l.base, l.domain, owner, client)
}

// mailDomain is the domain of an RFC 5322 address, or "".
func mailDomain(from string) string {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return ""
	}
	return a.Address[strings.LastIndexByte(a.Address, '@')+1:]
}
