package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// What replicas share in Redis. Every key is documented in the README.
const (
	keySessionPrefix = "mcpgw:session:"  // + downstream session id -> owner replica id (TTL: ownership)
	keyReplicaPrefix = "mcpgw:replica:"  // + replica id -> advertise URL (TTL: heartbeat)
	keyUpstreams     = "mcpgw:upstreams" // hash: upstream id -> upstream JSON, "" once removed
	channelEvents    = "mcpgw:events"    // pub/sub: upstream changes, for cluster-wide eviction
)

// redisTimeout bounds every Redis call: a slow Redis must not hold a request.
const redisTimeout = time.Second

var (
	// refreshClaim extends a claim this replica holds, or re-takes one that
	// expired (e.g. while Redis was away). It never takes another's claim.
	refreshClaim = `local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`
	// releaseClaim deletes a claim only if it is still held by ARGV[1].
	releaseClaim = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
)

// clusterEvent is broadcast on channelEvents when an upstream changes.
type clusterEvent struct {
	Origin   string    `json:"origin"`
	Op       string    `json:"op"` // "put" or "remove"
	ID       string    `json:"id"`
	Upstream *Upstream `json:"upstream,omitempty"`
}

// cluster is this replica's link to the others: session ownership, replica
// liveness and the upstream-change broadcast, all through one Redis.
type cluster struct {
	rdb          *redis.Client
	replica      string
	advertise    string
	ownershipTTL time.Duration
	heartbeatTTL time.Duration
	log          *slog.Logger
	metrics      *metrics
	localIDs     func() []string    // sessions this replica holds
	onEvent      func(clusterEvent) // applies another replica's upstream change
	redisUp      atomic.Bool

	epochMu sync.Mutex
	epoch   string // the directory marker's epoch at the last beat (directory.go)

	stop chan struct{}
	wg   sync.WaitGroup
}

// redisLog sends go-redis's own messages (dial retries and the like) to
// slog at debug level: the gateway already logs Redis trouble once, with
// what it means for sessions, in noteRedis.
type redisLog struct{}

func (redisLog) Printf(ctx context.Context, format string, v ...any) {
	slog.Default().DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}

var quietRedis sync.Once

func newCluster(url, replica, advertise string, ownershipTTL, heartbeatTTL time.Duration, log *slog.Logger, m *metrics) (*cluster, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("--redis %q: %w", url, err)
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout, opts.PoolTimeout = redisTimeout, redisTimeout, redisTimeout, redisTimeout
	opts.MaxRetries = 1
	quietRedis.Do(func() { redis.SetLogger(redisLog{}) })
	opts.ContextTimeoutEnabled = true
	c := &cluster{
		rdb: redis.NewClient(opts), replica: replica, advertise: advertise,
		ownershipTTL: ownershipTTL, heartbeatTTL: heartbeatTTL, log: log, metrics: m,
		stop: make(chan struct{}),
	}
	return c, nil
}

func (c *cluster) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), redisTimeout)
}

func sessionKey(id string) string { return keySessionPrefix + id }

// noteRedis records whether Redis answered, logging each change once.
func (c *cluster) noteRedis(err error) error {
	if err != nil && !errors.Is(err, redis.Nil) {
		c.metrics.redisErrors.Inc()
		if c.redisUp.Swap(false) {
			c.log.Warn("Redis unreachable: local sessions keep working, lookups of other replicas' sessions get 503", "err", err)
		}
		return fmt.Errorf("the session directory (Redis) is unreachable: %w", err)
	}
	if !c.redisUp.Swap(true) {
		c.log.Info("Redis reachable")
	}
	return nil
}

// start announces the replica and begins heartbeats, claim refreshes and
// the event subscription.
func (c *cluster) start() {
	c.beat()
	sub := c.rdb.Subscribe(context.Background(), channelEvents)
	c.wg.Go(func() { c.listen(sub) })
	c.wg.Go(c.keepAlive)
}

// keepAlive sends the heartbeat every third of its TTL and refreshes the
// claims every third of theirs, so one missed beat loses nothing.
func (c *cluster) keepAlive() {
	t := time.NewTicker(c.heartbeatTTL / 3)
	defer t.Stop()
	claimsEvery := max(c.ownershipTTL/3, c.heartbeatTTL/3)
	lastClaims := time.Now()
	for {
		select {
		case <-c.stop:
			return
		case now := <-t.C:
			refresh := now.Sub(lastClaims) >= claimsEvery || !c.redisUp.Load()
			if refresh {
				lastClaims = now
			}
			c.beatAndRefresh(refresh)
		}
	}
}

// beat announces the replica and refreshes every claim it holds.
func (c *cluster) beat() { c.beatAndRefresh(true) }

// beatAndRefresh refreshes the heartbeat and, when asked, every claim this
// replica holds, in one round trip. After a Redis outage the refresh
// re-takes lapsed claims, so no locally held session is lost.
func (c *cluster) beatAndRefresh(claims bool) {
	ctx, cancel := c.ctx()
	defer cancel()
	var ids []string
	if claims {
		ids = c.localIDs()
	}
	var marker *redis.Cmd
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		marker = markDirectory.Eval(ctx, p, []string{keyDirectory}, c.markArgs(len(ids) > 0)...)
		p.Set(ctx, keyReplicaPrefix+c.replica, c.advertise, c.heartbeatTTL)
		for _, id := range ids {
			p.Eval(ctx, refreshClaim, []string{sessionKey(id)}, c.replica, c.ownershipTTL.Milliseconds())
		}
		return nil
	})
	if c.noteRedis(err) != nil {
		return
	}
	if m, err := marker.Text(); err == nil && c.noteDirectory(m) {
		c.log.Warn("the session directory (Redis) came back empty; re-claiming this replica's sessions now")
		if !claims {
			c.beatAndRefresh(true)
		}
	}
}

// claim takes ownership of a new session. Ids are random, so SET NX failing
// means a bug or an attack; either way the session is not ours to serve.
func (c *cluster) claim(id string) error {
	ctx, cancel := c.ctx()
	defer cancel()
	ok, err := c.rdb.SetNX(ctx, sessionKey(id), c.replica, c.ownershipTTL).Result()
	if err := c.noteRedis(err); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("session %s is already claimed by another replica", id)
	}
	c.metrics.ownershipClaims.Inc()
	return nil
}

// release gives up a claim held by owner (this replica, or a dead one).
func (c *cluster) release(id, owner string) error {
	ctx, cancel := c.ctx()
	defer cancel()
	return c.noteRedis(releaseClaim.Run(ctx, c.rdb, []string{sessionKey(id)}, owner).Err())
}

// lookup returns a session's owner and that owner's advertise URL. An empty
// owner means nobody claims the session; an empty URL means the owner's
// heartbeat has expired.
func (c *cluster) lookup(id string) (owner, url string, err error) {
	ctx, cancel := c.ctx()
	defer cancel()
	owner, err = c.rdb.Get(ctx, sessionKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return "", "", c.noteRedis(nil)
	}
	if err := c.noteRedis(err); err != nil {
		return "", "", err
	}
	url, err = c.rdb.Get(ctx, keyReplicaPrefix+owner).Result()
	if errors.Is(err, redis.Nil) {
		return owner, "", c.noteRedis(nil)
	}
	return owner, url, c.noteRedis(err)
}

// publish stores an upstream change and tells every replica about it.
func (c *cluster) publish(ev clusterEvent) error {
	ev.Origin = c.replica
	ctx, cancel := c.ctx()
	defer cancel()
	stored := ""
	if ev.Upstream != nil {
		b, _ := json.Marshal(ev.Upstream)
		stored = string(b)
	}
	msg, _ := json.Marshal(ev)
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, keyUpstreams, ev.ID, stored)
		p.Publish(ctx, channelEvents, msg)
		return nil
	})
	return c.noteRedis(err)
}

// storedUpstreams returns the cluster's upstream changes (id -> definition,
// nil when removed), which a starting replica applies over its file.
func (c *cluster) storedUpstreams() (map[string]*Upstream, error) {
	ctx, cancel := c.ctx()
	defer cancel()
	all, err := c.rdb.HGetAll(ctx, keyUpstreams).Result()
	if err := c.noteRedis(err); err != nil {
		return nil, err
	}
	out := map[string]*Upstream{}
	for id, raw := range all {
		if raw == "" {
			out[id] = nil
			continue
		}
		var u Upstream
		if err := json.Unmarshal([]byte(raw), &u); err != nil || u.Validate() != nil {
			c.log.Warn("ignoring a malformed stored upstream", "upstream", id)
			continue
		}
		out[id] = &u
	}
	return out, nil
}

func (c *cluster) listen(sub *redis.PubSub) {
	defer sub.Close()
	ch := sub.Channel()
	for {
		select {
		case <-c.stop:
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			var ev clusterEvent
			if err := json.Unmarshal([]byte(msg.Payload), &ev); err != nil {
				c.log.Warn("ignoring a malformed cluster event", "err", err)
				continue
			}
			if ev.Origin != c.replica {
				c.onEvent(ev)
			}
		}
	}
}

// leave gives up every claim and the heartbeat at once, so other replicas
// answer 404 for this replica's sessions instead of forwarding to it.
func (c *cluster) leave(ids []string) {
	close(c.stop)
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			releaseClaim.Eval(ctx, p, []string{sessionKey(id)}, c.replica)
		}
		p.Del(ctx, keyReplicaPrefix+c.replica)
		return nil
	})
	if err != nil {
		c.log.Warn("could not release session claims at shutdown; they expire with their TTL", "err", err, "ttl", c.ownershipTTL.String())
	}
}

// close stops the background loops (bounded by the caller) and the client.
func (c *cluster) close(deadline time.Time) {
	if !waitUntil(&c.wg, deadline) {
		c.log.Warn("cluster loops still running at the deadline")
	}
	c.rdb.Close()
}
