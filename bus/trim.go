package bus

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// trimScript trims one stream to what its consumer groups still need: for
// each group, its oldest pending (read, not acknowledged) entry, or, when
// nothing is pending, the last entry it was given; the stream keeps the
// oldest of those and everything after (XTRIM MINID). A stream without a
// group is left alone: nobody has read it yet, and a dispatch command is
// nowhere else. One script, so no group can move or appear between the
// look and the trim. It returns how many entries went and the bound.
var trimScript = redis.NewScript(`
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return {0, ''} end
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local minID, minMS, minSeq
for _, g in ipairs(groups) do
  local f = {}
  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
  local keep = f['last-delivered-id']
  if tonumber(f['pending']) > 0 then
    keep = redis.call('XPENDING', KEYS[1], f['name'])[2]
  end
  local ms, seq = parse(keep)
  if minID == nil or ms < minMS or (ms == minMS and seq < minSeq) then
    minID, minMS, minSeq = keep, ms, seq
  end
end
return {redis.call('XTRIM', KEYS[1], 'MINID', minID), minID}
`)

// TrimConsumed trims every stream of the deployment (the streams under
// c.Prefix) to the entries some consumer group has not yet passed, and
// returns how many entries it removed. Redis then holds what is still to
// be read, not a copy of what PostgreSQL keeps; BUS_MAXLEN stays the bound
// for a group that stops reading.
func TrimConsumed(ctx context.Context, c Config) (int64, error) {
	var removed int64
	iter := c.Client.ScanType(ctx, 0, globEscape(c.Prefix)+"*", 1000, "stream").Iterator()
	for iter.Next(ctx) {
		res, err := trimScript.Run(ctx, c.Client, []string{iter.Val()}).Slice()
		if err != nil {
			return removed, fmt.Errorf("bus: trim %s: %w", iter.Val(), err)
		}
		if n, ok := res[0].(int64); ok {
			removed += n
		}
	}
	if err := iter.Err(); err != nil {
		return removed, fmt.Errorf("bus: list streams: %w", err)
	}
	return removed, nil
}

// RunTrimmer calls TrimConsumed every interval until ctx ends. Every
// process may run one: trimming is idempotent, and a failed round (Redis
// away) is logged and tried again at the next.
func RunTrimmer(ctx context.Context, c Config, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		n, err := TrimConsumed(ctx, c)
		switch {
		case err != nil && ctx.Err() == nil:
			c.Logger.Warn().Err(err).Msg("bus trim failed")
		case n > 0:
			c.Logger.Debug().Int64("removed", n).Msg("bus streams trimmed to what consumers still need")
		}
	}
}

// globEscape makes s match itself in a SCAN pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
