package gcheadroom

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// restoreGC puts GOGC and the memory limit back after a test, whatever it did.
func restoreGC(t *testing.T) {
	gogc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	debug.SetGCPercent(gogc)
	t.Cleanup(func() { debug.SetGCPercent(gogc); debug.SetMemoryLimit(limit) })
}

// Over a small heap the limit sits the headroom above what is in use; over a
// heap larger than the headroom the headroom grows with the heap; GOGC is
// off meanwhile, and Stop puts both settings back.
func TestLimitFollowsTheMemoryInUse(t *testing.T) {
	restoreGC(t)
	const headroom = 64 << 20
	tuner := Start(Options{Headroom: headroom})
	defer tuner.Stop()
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Fatalf("GOGC while tuning is %d, want off (-1)", got)
	}

	small := waitForGC(t, tuner)
	if small < headroom || small > headroom+256<<20 {
		t.Fatalf("over a small heap the limit is %d MiB, want the 64 MiB headroom above what is in use", small>>20)
	}

	held := make([][]byte, 0, 512)
	for range 512 { // 256 MiB of live heap, four times the headroom
		held = append(held, make([]byte, 512<<10))
	}
	large := waitForGC(t, tuner)
	if large < 2*256<<20 {
		t.Fatalf("over a 256 MiB heap the limit is %d MiB, want at least twice the heap", large>>20)
	}
	runtime.KeepAlive(held)

	tuner.Stop()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("after Stop GOGC is %d, want the 100 found at Start", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("after Stop the memory limit is %d, want none", got)
	}
}

// waitForGC runs collections until the tuner has seen two (its cleanup runs
// after the cycle that freed its sentinel), then returns the limit it set.
func waitForGC(t *testing.T, tuner *Tuner) int64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	before := tuner.cycles.Load()
	for tuner.cycles.Load() < before+2 {
		if time.Now().After(deadline) {
			t.Fatal("the tuner saw no collection within 5 s")
		}
		runtime.GC()
		runtime.Gosched()
	}
	return tuner.Limit()
}

func TestStopIsIdempotentAndEndsTuning(t *testing.T) {
	restoreGC(t)
	tuner := Start(Options{})
	tuner.Stop()
	tuner.Stop()
	seen := tuner.cycles.Load()
	for range 3 {
		runtime.GC()
	}
	if got := tuner.cycles.Load(); got > seen {
		t.Fatalf("the tuner kept tuning after Stop: %d cycles seen, %d at Stop", got, seen)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC after Stop is %d, want 100", got)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"64MiB": 64 << 20, "512KiB": 512 << 10, "1GiB": 1 << 30, "4096": 4096, "100B": 100} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1MiB", "64MB", "lots", "99999999999GiB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted bad input", in)
		}
	}
}

var sink []byte

// garbage allocates n bytes that nothing keeps.
func garbage(n int) {
	for range n >> 20 {
		sink = make([]byte, 1<<20)
	}
	sink = nil
}

// A process that made garbage and then went idle gets its free memory back
// once; one that keeps allocating does not.
func TestIdleGivesMemoryBackOnce(t *testing.T) {
	restoreGC(t)
	const headroom = 8 << 20
	tuner := Start(Options{Headroom: headroom, IdleAfter: 50 * time.Millisecond})
	defer tuner.Stop()

	busyUntil := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(busyUntil) {
		garbage(4 << 20) // far more than headroom/64 per period
	}
	if n := tuner.gaveBack.Load(); n != 0 {
		t.Fatalf("gave memory back %d times while allocating steadily, want none", n)
	}

	deadline := time.Now().Add(5 * time.Second)
	for tuner.gaveBack.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("an idle process did not get its memory back within 5 s")
		}
		time.Sleep(10 * time.Millisecond) // polling interval, bounded by the deadline
	}
	// Once per idle spell: further idle periods do nothing more.
	settle := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(settle) {
		time.Sleep(10 * time.Millisecond) // polling interval, bounded by settle
	}
	if n := tuner.gaveBack.Load(); n != 1 {
		t.Fatalf("gave memory back %d times in one idle spell, want 1", n)
	}
}
