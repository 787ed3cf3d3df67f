package projections

import (
	"context"
	"encoding/csv"
	"io"

	"github.com/google/uuid"
)

// ClientLister pages clients (*ResourceQueries, or a door's port of it).
type ClientLister interface {
	ListClients(ctx context.Context, s OwnerScope, search string, p IDPage) ([]ClientRow, uuid.UUID, error)
}

// clientsCSVPage is how many clients one query of an export reads.
const clientsCSVPage = 1000

// WriteClientsCSV streams the clients in s as CSV, oldest first, a page of
// the read model at a time: header, then email, full name and comment per
// client. begin is called once the first page was read, before anything is
// written, and returns where to write (a door sets its status line there);
// started reports whether it was, so an error before it can still be
// answered as one. rows is how many clients were written.
func WriteClientsCSV(ctx context.Context, l ClientLister, s OwnerScope, header []string, begin func() io.Writer) (rows int, started bool, err error) {
	page, next, err := l.ListClients(ctx, s, "", IDPage{Limit: clientsCSVPage})
	if err != nil {
		return 0, false, err
	}
	cw := csv.NewWriter(begin())
	err = cw.Write(header)
	for err == nil {
		for _, c := range page {
			if err = cw.Write([]string{c.Email, c.FullName, c.Comment}); err != nil {
				break
			}
		}
		rows += len(page)
		cw.Flush()
		if err == nil {
			err = cw.Error()
		}
		if err != nil || next == uuid.Nil {
			break
		}
		page, next, err = l.ListClients(ctx, s, "", IDPage{Limit: clientsCSVPage, After: next})
	}
	return rows, true, err
}
