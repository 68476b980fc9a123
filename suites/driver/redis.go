package driver

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Redis is an embedded miniredis served on loopback TCP whose clock follows
// real time: key TTLs expire as they would on a real Redis, so ownership
// leases behave as in production.
type Redis struct {
	m    *miniredis.Miniredis
	stop chan struct{}
	done chan struct{}
}

// StartRedis starts the embedded Redis on a free loopback port.
func StartRedis() (*Redis, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start embedded redis: %w", err)
	}
	// TTLs follow the wall clock; expiry is applied whenever a database is
	// touched, and the ticker touches one so keys expire without traffic too.
	m.ClockTTL(true)
	r := &Redis{m: m, stop: make(chan struct{}), done: make(chan struct{})}
	go r.tick(50 * time.Millisecond)
	return r, nil
}

func (r *Redis) tick(every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.m.DB(0)
		}
	}
}

// URL is the redis:// URL replicas are given.
func (r *Redis) URL() string { return "redis://" + r.m.Addr() + "/0" }

// Close stops the clock and the server.
func (r *Redis) Close() {
	select {
	case <-r.stop:
		return
	default:
	}
	close(r.stop)
	<-r.done
	r.m.Close()
}

// FlushRedis empties the database of an external Redis URL
// (redis://host:port/N) within timeout, so that replicas started on it see
// nothing a previous run left: ownership claims, heartbeats and, above all,
// stored upstream changes, which a starting replica applies over its
// upstreams file.
func FlushRedis(ctx context.Context, url string, timeout time.Duration) error {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return fmt.Errorf("redis URL %q: %w", url, err)
	}
	opts.MaxRetries = 1
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.FlushDB(ctx).Err(); err != nil {
		return fmt.Errorf("flush redis %s (db %d): %w", opts.Addr, opts.DB, err)
	}
	return nil
}
