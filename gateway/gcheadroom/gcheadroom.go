// Package gcheadroom gives the garbage collector a fixed headroom above the
// memory in use instead of a multiple of it.
//
// GOGC sets the headroom as a percentage of the live heap. A gateway whose
// live heap is small but whose messages make a lot of short-lived garbage
// needs a high GOGC not to collect every few calls, and a high GOGC then
// multiplies everything that sessions hold. A fixed headroom decouples the
// two: a collection comes every Headroom bytes of allocation, and memory grows
// by what sessions hold, not by a multiple of it.
//
// The tuner turns GOGC off and, after every collection, sets the soft memory
// limit to the memory in use plus the headroom. The memory limit is what the
// runtime's scavenger also works to, so the resident size follows the limit
// closely. Once the live heap outgrows the headroom the headroom grows with
// it, as with GOGC=100, so large heaps behave as they would without a tuner.
//
// Headroom is for traffic. When the process goes idle, having made garbage
// since it last did, the tuner gives the free memory back to the OS once, so
// an idle process holds what it uses and not the headroom too.
package gcheadroom

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune the headroom; zero values take the defaults.
type Options struct {
	// Headroom is how many bytes may be allocated between collections
	// while the live heap is smaller than that. Default 64 MiB.
	Headroom uint64
	// IdleAfter is how often allocation is checked: a period in which less
	// than Headroom/64 was allocated is idle. Default 1s; negative = never
	// give memory back.
	IdleAfter time.Duration
}

// Tuner re-sets the memory limit after every collection. Only one should
// run per process.
type Tuner struct {
	headroom uint64
	samples  []metrics.Sample
	limit    atomic.Int64
	cycles   atomic.Int64 // collections seen, for tests
	gaveBack atomic.Int64 // idle give-backs, for tests

	done     chan struct{}
	stopOnce sync.Once
	watching sync.WaitGroup

	mu            sync.Mutex // serialises tuning with Stop
	stopped       bool
	previousGOGC  int
	previousLimit int64
}

// The samples tune reads, by index.
const (
	sampleTotal = iota
	sampleReleased
	sampleFree
	sampleObjects
	sampleLive
	sampleStacks
	sampleGlobals
)

var sampleNames = []string{
	sampleTotal:    "/memory/classes/total:bytes",
	sampleReleased: "/memory/classes/heap/released:bytes",
	sampleFree:     "/memory/classes/heap/free:bytes",
	sampleObjects:  "/memory/classes/heap/objects:bytes",
	sampleLive:     "/gc/heap/live:bytes",
	sampleStacks:   "/gc/scan/stack:bytes",
	sampleGlobals:  "/gc/scan/globals:bytes",
}

// Start sets the memory limit for the memory in use now, turns GOGC off
// and keeps the limit tuned after each collection until Stop.
func Start(opts Options) *Tuner {
	t := &Tuner{headroom: opts.Headroom, done: make(chan struct{})}
	if t.headroom == 0 {
		t.headroom = 64 << 20
	}
	if opts.IdleAfter == 0 {
		opts.IdleAfter = time.Second
	}
	for _, name := range sampleNames {
		t.samples = append(t.samples, metrics.Sample{Name: name})
	}
	// The limit first, so the process is never without both.
	t.previousLimit = debug.SetMemoryLimit(-1)
	t.tune()
	t.previousGOGC = debug.SetGCPercent(-1)
	t.arm()
	if opts.IdleAfter > 0 {
		t.watching.Go(func() { t.giveBackWhenIdle(opts.IdleAfter) })
	}
	return t
}

// giveBackWhenIdle returns free memory to the OS once per idle spell: when a
// period passes with little allocation and at least a quarter of the
// headroom was allocated since the last give-back.
func (t *Tuner) giveBackWhenIdle(period time.Duration) {
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	allocs := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	read := func() uint64 { metrics.Read(allocs); return allocs[0].Value.Uint64() }
	last := read()
	atGiveBack := last
	for {
		select {
		case <-t.done:
			return
		case <-ticker.C:
		}
		now := read()
		busy := now-last >= t.headroom/64
		last = now
		if busy || now-atGiveBack < t.headroom/4 {
			continue
		}
		debug.FreeOSMemory()
		t.gaveBack.Add(1)
		atGiveBack = read()
		last = atGiveBack
	}
}

// Limit is the memory limit the tuner last set, in bytes.
func (t *Tuner) Limit() int64 { return t.limit.Load() }

// Stop ends the tuning and restores the GOGC and memory limit found at Start.
func (t *Tuner) Stop() {
	t.stopOnce.Do(func() { close(t.done) })
	t.watching.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stopped {
		t.stopped = true
		debug.SetGCPercent(t.previousGOGC)
		debug.SetMemoryLimit(t.previousLimit)
	}
}

// sentinel is an object nothing refers to: its cleanup runs after the
// collection that freed it, which is how the tuner hears of each cycle. It
// holds a pointer so that it is never a tiny allocation batched with others.
type sentinel struct {
	_ *byte
	_ [16]byte
}

func (t *Tuner) arm() {
	runtime.AddCleanup(new(sentinel), func(t *Tuner) {
		if t.tune() {
			t.arm()
		}
	}, t)
}

// tune sets the limit for what the last collection left; false once stopped.
func (t *Tuner) tune() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	t.cycles.Add(1)
	metrics.Read(t.samples)
	v := func(i int) uint64 {
		if t.samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return t.samples[i].Value.Uint64()
	}
	// What the limit is compared against is all memory the runtime holds
	// from the OS. Of it, free heap spans and the garbage not yet swept are
	// not in use.
	inUse := v(sampleTotal) - min(v(sampleTotal), v(sampleReleased)+v(sampleFree))
	if garbage := v(sampleObjects) - min(v(sampleObjects), v(sampleLive)); garbage < inUse {
		inUse -= garbage
	}
	// GOGC=100's headroom, for heaps larger than the fixed one.
	proportional := v(sampleLive) + v(sampleStacks) + v(sampleGlobals)
	limit := inUse + max(t.headroom, proportional)
	if limit > math.MaxInt64 {
		limit = math.MaxInt64
	}
	if int64(limit) != t.limit.Load() {
		debug.SetMemoryLimit(int64(limit))
		t.limit.Store(int64(limit))
	}
	return true
}

// ParseSize reads a byte count written as GOMEMLIMIT is: a number with an
// optional B, KiB, MiB or GiB suffix.
func ParseSize(s string) (uint64, error) {
	num, unit := s, uint64(1)
	for _, u := range []struct {
		suffix string
		size   uint64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, unit = n, u.size
			break
		}
	}
	n, err := strconv.ParseUint(strings.TrimSpace(num), 10, 64)
	if err != nil || n == 0 || n > math.MaxUint64/unit {
		return 0, fmt.Errorf("size %q: want a positive number with an optional B, KiB, MiB or GiB suffix, such as 64MiB", s)
	}
	return n * unit, nil
}
