package gateway

import (
	"crypto/rand"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis can come back empty (a restart without persistence, a flush). Every
// claim is gone then until each owner's next beat re-claims its sessions, and
// a lookup in between would find no owner for a live session: answered 404,
// the client drops the session. So every replica keeps a marker in Redis,
// created by the first beat that finds it missing, and a lookup that finds
// no claim answers 404 only when the marker says the directory has not been
// reset within resetGrace; otherwise 503, retry.

// keyDirectory holds "<kind>:<seconds>:<microseconds>:<random>", the Redis
// time at which the marker was made. kind is "reset" when sessions may have
// been lost (the maker had seen an earlier marker, or held sessions), else
// "new" (a fresh directory: nobody can have had a claim in it).
const keyDirectory = "mcpgw:directory"

// markDirectory returns the marker, making it if missing. ARGV: the kind to
// make it with, a random tail, and the epoch the caller knew ("" if none):
// a caller that knew another epoch upgrades a "new" marker to "reset".
var markDirectory = redis.NewScript(`local v = redis.call('GET', KEYS[1])
if not v then
  local t = redis.call('TIME')
  v = ARGV[1] .. ':' .. t[1] .. ':' .. t[2] .. ':' .. ARGV[2]
  redis.call('SET', KEYS[1], v)
elseif ARGV[3] ~= '' and string.sub(v, 1, 4) == 'new:' and string.sub(v, 5) ~= ARGV[3] then
  v = 'reset:' .. string.sub(v, 5)
  redis.call('SET', KEYS[1], v)
end
return v`)

// resetGrace is how long after a reset a replica's claims may still be
// missing: one beat interval, plus a round trip for the beat and one for
// the re-claim.
func (c *cluster) resetGrace() time.Duration { return c.heartbeatTTL/3 + 2*redisTimeout }

// directoryEpoch splits a marker into its kind and its epoch.
func directoryEpoch(marker string) (kind, epoch string) {
	kind, epoch, _ = strings.Cut(marker, ":")
	return kind, epoch
}

// markArgs are the markDirectory arguments for this replica's next beat.
func (c *cluster) markArgs(holdsSessions bool) []any {
	c.epochMu.Lock()
	known := c.epoch
	c.epochMu.Unlock()
	kind := "new"
	if known != "" || holdsSessions {
		kind = "reset"
	}
	return []any{kind, rand.Text()[:8], known}
}

// noteDirectory records the marker a beat saw and reports whether it shows
// a reset since the previous beat.
func (c *cluster) noteDirectory(marker string) (reset bool) {
	_, epoch := directoryEpoch(marker)
	c.epochMu.Lock()
	defer c.epochMu.Unlock()
	reset = c.epoch != "" && epoch != c.epoch
	c.epoch = epoch
	return reset
}

// directorySettled reports whether a missing claim can be trusted: the
// directory exists and was not reset within resetGrace.
func (c *cluster) directorySettled() (bool, error) {
	ctx, cancel := c.ctx()
	defer cancel()
	var marker *redis.StringCmd
	var now *redis.TimeCmd
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		marker = p.Get(ctx, keyDirectory)
		now = p.Time(ctx)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		return false, c.noteRedis(nil) // emptied since the last beat
	}
	if err := c.noteRedis(err); err != nil {
		return false, err
	}
	kind, epoch := directoryEpoch(marker.Val())
	if kind != "reset" {
		return true, nil
	}
	sec, usec, _ := strings.Cut(epoch, ":")
	usec, _, _ = strings.Cut(usec, ":")
	s, err1 := strconv.ParseInt(sec, 10, 64)
	us, err2 := strconv.ParseInt(usec, 10, 64)
	if err1 != nil || err2 != nil {
		return true, nil // not a marker of ours: nothing to wait for
	}
	return now.Val().Sub(time.Unix(s, us*1000)) >= c.resetGrace(), nil
}
