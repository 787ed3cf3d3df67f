package projections

import (
	"encoding/csv"
	"io"
	"strconv"
	"time"
)

// ReportCSVHeader is the first line of the report's CSV export: the JSON
// field names of MailingReport.
var ReportCSVHeader = []string{"mailing_id", "owner_id", "status", "runs", "attempts_total", "attempts_success",
	"attempts_failure", "last_attempt_at", "deferred", "attempts_skipped", "bounced"}

// The media type and file name both front doors serve the export with.
const (
	ReportCSVType = "text/csv; charset=utf-8"
	ReportCSVName = "mailing-report.csv"
)

// WriteReportCSV writes the report as CSV to w: ReportCSVHeader, then one
// line per report each hands over (EachMailingReport over the caller's
// scope), flushed every 500 lines so an export of any size streams. begin
// runs once, just before the first byte is written: an HTTP handler sends
// its status line there. The error of a call that never began is the
// caller's to answer (nothing was written); after that the output is cut
// short and the caller can only abort it. rows is the lines written after
// the header.
func WriteReportCSV(w io.Writer, each func(fn func(MailingReport) error) error, begin func()) (began bool, rows int, err error) {
	cw := csv.NewWriter(w)
	start := func() error {
		if began {
			return nil
		}
		began = true
		begin()
		return cw.Write(ReportCSVHeader)
	}
	err = each(func(m MailingReport) error {
		if err := start(); err != nil {
			return err
		}
		last := ""
		if m.LastAttemptAt != nil {
			last = m.LastAttemptAt.UTC().Format(time.RFC3339Nano)
		}
		if err := cw.Write([]string{m.MailingID.String(), m.OwnerID.String(), m.Status, strconv.FormatInt(m.Runs, 10),
			strconv.FormatInt(m.AttemptsTotal, 10), strconv.FormatInt(m.AttemptsSuccess, 10),
			strconv.FormatInt(m.AttemptsFailure, 10), last, strconv.FormatInt(m.Deferred, 10),
			strconv.FormatInt(m.AttemptsSkipped, 10), strconv.FormatInt(m.Bounced, 10)}); err != nil {
			return err
		}
		if rows++; rows%500 == 0 {
			cw.Flush()
			return cw.Error()
		}
		return nil
	})
	if err == nil {
		err = start()
	}
	if err == nil {
		cw.Flush()
		err = cw.Error()
	}
	return began, rows, err
}
