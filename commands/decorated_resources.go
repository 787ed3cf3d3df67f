package commands

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/eventstore"
)

// call runs a handler method on cmd through the decorator.
func call[C, R any](ctx context.Context, d *Decorator, name string, meta domain.Metadata, cmd C,
	method func(context.Context, domain.Metadata, C) (R, error)) (R, error) {
	return decorate(d, name, meta, func(meta domain.Metadata) (R, error) { return method(ctx, meta, cmd) })
}

// resourceHandler is a resource's command handler: T is the aggregate, C,
// U and D its create, update and delete commands.
type resourceHandler[T, C, U, D any] interface {
	Create(ctx context.Context, meta domain.Metadata, cmd C) (Outcome[T], error)
	Update(ctx context.Context, meta domain.Metadata, cmd U) (Outcome[T], error)
	Delete(ctx context.Context, meta domain.Metadata, cmd D) (eventstore.Result, error)
}

// DecoratedResource is a resource's command handler behind the decorator.
type DecoratedResource[T, C, U, D any] struct {
	h    resourceHandler[T, C, U, D]
	d    *Decorator
	noun string // "Client": the commands are CreateClient, UpdateClient, DeleteClient
}

// Create is the handler's Create, decorated.
func (r *DecoratedResource[T, C, U, D]) Create(ctx context.Context, meta domain.Metadata, cmd C) (Outcome[T], error) {
	return call(ctx, r.d, "Create"+r.noun, meta, cmd, r.h.Create)
}

// Update is the handler's Update, decorated.
func (r *DecoratedResource[T, C, U, D]) Update(ctx context.Context, meta domain.Metadata, cmd U) (Outcome[T], error) {
	return call(ctx, r.d, "Update"+r.noun, meta, cmd, r.h.Update)
}

// Delete is the handler's Delete, decorated.
func (r *DecoratedResource[T, C, U, D]) Delete(ctx context.Context, meta domain.Metadata, cmd D) (eventstore.Result, error) {
	return call(ctx, r.d, "Delete"+r.noun, meta, cmd, r.h.Delete)
}

// DecoratedClients is ClientHandler behind the decorator.
type DecoratedClients = DecoratedResource[*domain.Client, CreateClient, UpdateClient, DeleteClient]

// Clients wraps h.
func (d *Decorator) Clients(h *ClientHandler) *DecoratedClients {
	return &DecoratedClients{h: h, d: d, noun: "Client"}
}

// DecoratedMessages is MessageHandler behind the decorator.
type DecoratedMessages = DecoratedResource[*domain.Message, CreateMessage, UpdateMessage, DeleteMessage]

// Messages wraps h.
func (d *Decorator) Messages(h *MessageHandler) *DecoratedMessages {
	return &DecoratedMessages{h: h, d: d, noun: "Message"}
}

// DecoratedMailings is MailingHandler behind the decorator.
type DecoratedMailings struct {
	*DecoratedResource[*domain.Mailing, CreateMailing, UpdateMailing, DeleteMailing]
	mailings *MailingHandler
}

// Mailings wraps h.
func (d *Decorator) Mailings(h *MailingHandler) *DecoratedMailings {
	return &DecoratedMailings{mailings: h,
		DecoratedResource: &DecoratedResource[*domain.Mailing, CreateMailing, UpdateMailing, DeleteMailing]{h: h, d: d, noun: "Mailing"}}
}

// Toggle is MailingHandler.Toggle, decorated.
func (m *DecoratedMailings) Toggle(ctx context.Context, meta domain.Metadata, cmd ToggleMailing) (Outcome[*domain.Mailing], error) {
	name := "DisableMailing"
	if cmd.Enable {
		name = "EnableMailing"
	}
	return call(ctx, m.d, name, meta, cmd, m.mailings.Toggle)
}

// DecoratedClientImport is ClientImporter behind the decorator; its log
// line counts what the import did.
type DecoratedClientImport struct {
	h *ClientImporter
	d *Decorator
}

// ClientImport wraps h.
func (d *Decorator) ClientImport(h *ClientImporter) *DecoratedClientImport {
	return &DecoratedClientImport{h: h, d: d}
}

// Import is ClientImporter.Import, decorated.
func (i *DecoratedClientImport) Import(ctx context.Context, meta domain.Metadata, cmd ImportClients) (ImportReport, error) {
	return decorateWith(i.d, "ImportClients", meta, func(meta domain.Metadata) (ImportReport, error) {
		return i.h.Import(ctx, meta, cmd)
	}, func(ev *zerolog.Event, r ImportReport) *zerolog.Event {
		return ev.Int("created", r.Created).Int("skipped", r.Skipped).Int("rejected", len(r.Rejected))
	})
}
