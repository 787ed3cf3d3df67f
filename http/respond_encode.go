package http

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/projections"
)

// appendJSON appends the JSON of v to b, without the encoder's trailing
// newline and without escaping <, > and & (bodies are JSON, never inlined
// in HTML). The busiest answers, a client and a page of clients, are
// encoded by hand: encoding/json's reflection, its MarshalJSON calls for
// every time and id and the compaction of what they return cost more than
// the query behind the page. The output is byte for byte what encoding/json
// writes (respond_encode_test.go checks it); what the hand-written encoders
// cannot encode takes encoding/json's path, and its error.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case projections.ClientRow:
		if out, ok := appendClientJSON(b, v); ok {
			return out, nil
		}
	case Page[projections.ClientRow]:
		if out, ok := appendClientPage(b, v); ok {
			return out, nil
		}
	}
	buf := bytes.NewBuffer(b)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return b, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// marshalJSON is appendJSON into a new slice.
func marshalJSON(v any) ([]byte, error) { return appendJSON(nil, v) }

// bodyBuffers recycles answer buffers (a page of 50 clients is about 12 KiB).
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// appendClientPage appends p as encoding/json writes it; ok is false (and
// b unchanged) when an item cannot be encoded by hand.
func appendClientPage(b []byte, p Page[projections.ClientRow]) (_ []byte, ok bool) {
	start := len(b)
	b = append(b, `{"items":[`...)
	for i, it := range p.Items {
		if i > 0 {
			b = append(b, ',')
		}
		if b, ok = appendClientJSON(b, it); !ok {
			return b[:start], false
		}
	}
	b = append(b, `],"next_cursor":`...)
	if p.NextCursor == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, *p.NextCursor)
	}
	return append(b, '}'), true
}

// appendClientJSON appends c as encoding/json writes a projections.ClientRow;
// ok is false for a time encoding/json refuses.
func appendClientJSON(b []byte, c projections.ClientRow) (_ []byte, ok bool) {
	if !jsonTime(c.CreatedAt) || !jsonTime(c.UpdatedAt) || (c.UnsubscribedAt != nil && !jsonTime(*c.UnsubscribedAt)) ||
		(c.SuppressedAt != nil && !jsonTime(*c.SuppressedAt)) {
		return b, false
	}
	b = append(b, `{"id":`...)
	b = appendJSONUUID(b, c.ID)
	b = append(b, `,"owner_id":`...)
	b = appendJSONUUID(b, c.OwnerID)
	b = append(b, `,"email":`...)
	b = appendJSONString(b, c.Email)
	b = append(b, `,"full_name":`...)
	b = appendJSONString(b, c.FullName)
	b = append(b, `,"comment":`...)
	b = appendJSONString(b, c.Comment)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, c.Version, 10)
	b = append(b, `,"created_at":`...)
	b = appendJSONTime(b, c.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = appendJSONTime(b, c.UpdatedAt)
	b = append(b, `,"unsubscribed_at":`...)
	b = appendJSONTimeOrNull(b, c.UnsubscribedAt)
	b = append(b, `,"suppressed_at":`...)
	b = appendJSONTimeOrNull(b, c.SuppressedAt)
	b = append(b, `,"suppression_reason":`...)
	b = appendJSONString(b, c.SuppressionReason)
	return append(b, '}'), true
}

func appendJSONTimeOrNull(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	return appendJSONTime(b, *t)
}

func appendJSONUUID(b []byte, id uuid.UUID) []byte {
	b = append(b, '"')
	var s [36]byte
	const hexdigits = "0123456789abcdef"
	j := 0
	for i, x := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = hexdigits[x>>4], hexdigits[x&0xf]
		j += 2
	}
	b = append(b, s[:]...)
	return append(b, '"')
}

// jsonTime reports whether time.Time's MarshalJSON accepts t: a year of
// four digits, a zone offset under 24 hours.
func jsonTime(t time.Time) bool {
	_, off := t.Zone()
	y := t.Year()
	return y >= 0 && y <= 9999 && off > -24*3600 && off < 24*3600
}

// appendJSONTime is time.Time's MarshalJSON (RFC 3339 with nanoseconds as
// needed) for a time jsonTime accepts.
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendJSONString quotes s as encoding/json does without HTML escaping;
// anything but printable ASCII takes encoding/json's own path.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return appendJSONValue(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendJSONValue(b []byte, s string) []byte {
	out, _ := appendJSON(b, s) // a string always encodes
	return out
}
