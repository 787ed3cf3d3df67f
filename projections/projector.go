package projections

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/heraldmail/herald/domain"
)

// Projector builds one read model from events. The runtime calls Apply and
// moves the projector's checkpoint in the same transaction, so an event that
// is delivered twice changes nothing.
//
// Apply must write only through tx and use unqualified table names: a
// rebuild runs the same Apply with search_path pointing at fresh tables.
// Events reach it without their metadata (RecordedEvent.Metadata is zero),
// live and in a rebuild alike: a read model is built from what happened;
// who asked for it is the history's to show.
type Projector interface {
	// Name is stable: it names the consumer group and the checkpoint.
	Name() string
	// EventTypes lists the event types Apply handles; the runtime subscribes
	// to their topics and skips the other events of those topics.
	EventTypes() []string
	// Tables lists the tables the projector owns (created by migrations).
	Tables() []string
	// Apply changes the read model for one event.
	Apply(ctx context.Context, tx pgx.Tx, e domain.RecordedEvent) error
}

// TopicOf is the bus topic carrying events of the given type. Event types are
// named "<stream type>.<what happened>", and each stream type has one topic,
// delivered in store order.
func TopicOf(eventType string) string {
	family, _, _ := strings.Cut(eventType, ".")
	return "events." + family
}
