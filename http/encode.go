package http

import (
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/eventstore"
	"github.com/heraldmail/herald/projections"
)

// The busiest answers (list pages) are encoded by hand: encoding/json's
// reflection, its MarshalJSON calls for every time and id and the compaction
// of what they return cost more than the query behind the page. The output
// is byte for byte what writeJSON would write (encode_test.go checks it).

// bodyBuffers recycles answer buffers (a page of 50 clients is about 12 KiB).
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// writePageWith answers a list like writePage, encoding each item with enc;
// an item enc cannot encode (ok false) sends the page through writePage,
// whose error answer is then the one of encoding/json.
func writePageWith[T any](w http.ResponseWriter, items []T, next string, enc func([]byte, T) ([]byte, bool)) {
	bp := bodyBuffers.Get().(*[]byte)
	b := append((*bp)[:0], `{"items":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = enc(b, it); !ok {
			bodyBuffers.Put(bp)
			writePage(w, items, next)
			return
		}
	}
	b = append(b, `],"next_cursor":`...)
	if next == "" {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, next)
	}
	b = append(b, "}\n"...)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	if cap(b) <= 1<<20 { // keep no outsized buffer alive
		*bp = b
		bodyBuffers.Put(bp)
	}
}

// writeClientAnswer answers a command on a client as answer does, the
// client encoded by hand.
func writeClientAnswer(w http.ResponseWriter, status int, res eventstore.Result, c projections.ClientRow) {
	bp := bodyBuffers.Get().(*[]byte)
	b, ok := appendClientJSON((*bp)[:0], c)
	if !ok {
		bodyBuffers.Put(bp)
		answer(w, status, res, c)
		return
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("ETag", etag(res.Version))
	h.Set(HeaderEventPosition, strconv.FormatInt(res.LastPosition, 10))
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	*bp = b
	bodyBuffers.Put(bp)
}

// appendClientJSON appends c as encoding/json writes a projections.ClientRow;
// ok is false for a time encoding/json refuses.
func appendClientJSON(b []byte, c projections.ClientRow) (_ []byte, ok bool) {
	if !jsonTime(c.CreatedAt) || !jsonTime(c.UpdatedAt) {
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
	return append(b, '}'), true
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
	js, _ := marshalJSON(s) // a string always encodes
	return append(b, js...)
}
