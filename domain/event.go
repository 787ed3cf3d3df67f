package domain

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"

	"github.com/segmentio/encoding/json"
)

// Event is a fact that happened to an aggregate. Its type name is stable: it
// is stored with the event and must never change once events are written.
type Event interface {
	EventType() string
}

// ErrUnknownEventType is returned when stored history names a type that no
// Go type is registered for; dropping such an event silently would corrupt
// every state rebuilt from it.
var ErrUnknownEventType = errors.New("unknown event type")

var registry = struct {
	sync.RWMutex
	types map[string]reflect.Type
}{types: map[string]reflect.Type{}}

// RegisterEvents records the concrete types of the given prototypes (struct
// values, not pointers) under their EventType names. Registering the same name
// for two different Go types panics: it is a programming error found at start.
func RegisterEvents(prototypes ...Event) {
	registry.Lock()
	defer registry.Unlock()
	for _, p := range prototypes {
		t := reflect.TypeOf(p)
		if t.Kind() == reflect.Pointer {
			panic(fmt.Sprintf("domain: register %s as a value, not a pointer", t))
		}
		name := p.EventType()
		if prev, ok := registry.types[name]; ok && prev != t {
			panic(fmt.Sprintf("domain: event type %q registered for %s and %s", name, prev, t))
		}
		registry.types[name] = t
	}
}

// DecodeEvent turns stored JSON into the registered Go type for typeName.
func DecodeEvent(typeName string, data []byte) (Event, error) {
	registry.RLock()
	t, ok := registry.types[typeName]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownEventType, typeName)
	}
	ptr := reflect.New(t)
	if len(data) > 0 {
		if err := json.Unmarshal(data, ptr.Interface()); err != nil {
			return nil, fmt.Errorf("decode event %q: %w", typeName, err)
		}
	}
	return ptr.Elem().Interface().(Event), nil
}

// RegisteredEventTypes lists every registered type name, sorted.
func RegisteredEventTypes() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.types))
	for n := range registry.types {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
