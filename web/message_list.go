package web

import (
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/heraldmail/herald/access"
	"github.com/heraldmail/herald/projections"
)

// messageList is what the list page shows.
type messageList struct {
	// Everyone's is set when the caller sees others' messages too: the list
	// then names each message's owner.
	Everyones bool
	Messages  []messageItem
	Next      string // the next page's URL, "" on the last
}

// messageItem is a message of the list, with what the caller may do to it.
type messageItem struct {
	projections.MessageRow
	Mine      bool // the caller owns it
	CanChange bool // the caller may edit and delete it (access.CanChange)
}

// listMessages is GET /messages, as GET /api/v1/messages: what the caller
// may read of the messages, ?after= the cursor.
func (h *Handler) listMessages(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	scope := access.ReadScope(p, access.Message)
	after, _ := uuid.Parse(r.URL.Query().Get("after"))
	rows, next, err := h.messageRows.ListMessages(r.Context(), scope, projections.IDPage{Limit: messagesPerPage, After: after})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l := messageList{Everyones: scope.All, Messages: make([]messageItem, 0, len(rows))}
	for _, m := range rows {
		l.Messages = append(l.Messages, messageItem{MessageRow: m, Mine: access.Owns(p, m.OwnerID), CanChange: access.CanChange(p, m.OwnerID)})
	}
	if next != uuid.Nil {
		l.Next = "/messages?" + url.Values{"after": {next.String()}}.Encode()
	}
	v := h.view(w, r)
	v.Data = l
	h.render(w, r, http.StatusOK, "messages", v)
}
