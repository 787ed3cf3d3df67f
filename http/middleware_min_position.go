package http

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/heraldmail/herald/projections"
)

// HeaderMinPosition asks a read to wait until its read models have applied
// this store position (read-your-writes after a command's X-Event-Position).
const HeaderMinPosition = "X-Min-Position"

// minPosition makes a read honour X-Min-Position for the named projectors:
// without the header, or from an anonymous caller (who has written
// nothing to read back), it does nothing; with it, it waits up to the
// router's MinPositionTimeout (5 s) and answers 503 projection_lag
// (Retry-After: 1) if they are still behind, 400 malformed_header at once
// if the header is not a non-negative integer or is past the store's last
// event.
func minPosition(projectors ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw := strings.TrimSpace(r.Header.Get(HeaderMinPosition))
			if raw == "" || !principal(r).Authenticated() {
				next.ServeHTTP(w, r)
				return
			}
			pos, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || pos < 0 {
				respondError(w, r, problem(CodeMalformedHeader, HeaderMinPosition+" must be a non-negative integer (a X-Event-Position value)"))
				return
			}
			d := depsOf(r.Context())
			if d.waiter == nil {
				respondError(w, r, projectionLag("this server cannot wait for read models; retry without "+HeaderMinPosition))
				return
			}
			timeout := d.waitTimeout
			if timeout <= 0 {
				timeout = 5 * time.Second
			}
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			err = d.waiter.WaitFor(ctx, projectors, pos)
			expired := ctx.Err() != nil
			cancel()
			switch {
			case err == nil:
				next.ServeHTTP(w, r)
			case errors.Is(err, projections.ErrPositionAhead):
				respondError(w, r, problem(CodeMalformedHeader, HeaderMinPosition+" "+raw+" is past the last event of the store; send a X-Event-Position value"))
			case r.Context().Err() != nil:
				// The client left; nobody reads the answer.
				zerolog.Ctx(r.Context()).Debug().Err(err).Msg("client left while waiting for read models")
			case expired || errors.Is(err, context.DeadlineExceeded):
				respondError(w, r, projectionLag("the read models have not reached position "+raw+" within "+timeout.String()))
			default:
				respondError(w, r, err)
			}
		})
	}
}

// projectionLag is the 503 of a read whose read models are behind: the
// client may retry in a second.
func projectionLag(detail string) error {
	return &ProblemError{Code: CodeProjectionLag, Detail: detail, Headers: http.Header{"Retry-After": {"1"}}}
}

// Waiter answers "have these projectors applied store position N?" by
// blocking until they have or ctx ends (projections.Runtime provides it).
type Waiter interface {
	WaitFor(ctx context.Context, projectors []string, position int64) error
}

// WaiterFunc adapts a function to Waiter.
type WaiterFunc func(ctx context.Context, projectors []string, position int64) error

// WaitFor calls f.
func (f WaiterFunc) WaitFor(ctx context.Context, projectors []string, position int64) error {
	return f(ctx, projectors, position)
}
