package child

import (
	"strconv"
	"sync"
)

// LogBuffer is a goroutine-safe buffer for a child's output that keeps at
// most its limit, dropping the oldest half past it, so a chatty child (or a
// hook, or a container's log stream) cannot grow its parent without bound.
type LogBuffer struct {
	mu      sync.Mutex
	limit   int
	buf     []byte
	dropped int
}

// NewLogBuffer makes a buffer that keeps at most limit bytes (0 =
// DefaultLogLimit).
func NewLogBuffer(limit int) *LogBuffer {
	if limit <= 0 {
		limit = DefaultLogLimit
	}
	return &LogBuffer{limit: limit}
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.limit {
		cut := len(b.buf) - b.limit/2
		b.dropped += cut
		b.buf = append([]byte(nil), b.buf[cut:]...)
	}
	return len(p), nil
}

// String returns the captured output, noting how much was dropped.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return "[... " + strconv.Itoa(b.dropped) + " bytes dropped ...]\n" + string(b.buf)
	}
	return string(b.buf)
}
