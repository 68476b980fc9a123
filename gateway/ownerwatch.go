package gateway

import (
	"context"
	"errors"
	"sync"
	"time"
)

// A stopped owner (SIGSTOP, a partition, a long pause) still has its kernel
// accept connections, so a forward to it gets no refusal, only silence. The
// owner's heartbeat tells: while a forward waits for the owner's response
// headers, the owner's heartbeat key is watched, and the forward is given up
// once it lapses. A live owner busy with a long call keeps beating, so its
// call is not cut.

// errOwnerLapsed is the cancellation cause of a forward whose owner's
// heartbeat lapsed while it waited.
var errOwnerLapsed = errors.New("the owner replica's heartbeat lapsed")

// ownerWatch watches one forward's owner until its response headers arrive.
type ownerWatch struct {
	answered chan struct{}
	once     sync.Once
}

// answer marks the owner's response headers in: the watch ends.
func (w *ownerWatch) answer() { w.once.Do(func() { close(w.answered) }) }

// watchOwner returns ctx, cancelled with errOwnerLapsed if owner's heartbeat
// is seen missing before the watch is answered. The watch stops with ctx.
func (g *Gateway) watchOwner(ctx context.Context, owner string) (context.Context, *ownerWatch, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &ownerWatch{answered: make(chan struct{})}
	every := max(g.cfg.HeartbeatTTL/3, 50*time.Millisecond)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.answered:
				return
			case <-t.C:
				// A Redis error says nothing of the owner: keep waiting,
				// bounded by the forward timeout.
				if g.ownerLapsed(owner) {
					cancel(errOwnerLapsed)
					return
				}
			}
		}
	}()
	return ctx, w, func() { cancel(nil) }
}

// ownerLapsed reports whether owner's heartbeat is certainly gone: missing,
// and not merely because Redis came back empty moments ago.
func (g *Gateway) ownerLapsed(owner string) bool {
	alive, err := g.cluster.replicaAlive(owner)
	if err != nil || alive {
		return false
	}
	settled, err := g.cluster.directorySettled()
	return err == nil && settled
}

// replicaAlive reports whether replica's heartbeat is in Redis.
func (c *cluster) replicaAlive(replica string) (bool, error) {
	ctx, cancel := c.ctx()
	defer cancel()
	n, err := c.rdb.Exists(ctx, keyReplicaPrefix+replica).Result()
	if err := c.noteRedis(err); err != nil {
		return false, err
	}
	return n > 0, nil
}
