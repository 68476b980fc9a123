package child

import (
	"strconv"
	"sync"
)

// logBuffer is a goroutine-safe buffer for a child's output that keeps at
// most limit bytes, dropping the oldest half past it, so a chatty child
// cannot grow its parent without bound.
type logBuffer struct {
	mu      sync.Mutex
	limit   int
	buf     []byte
	dropped int
}

func (b *logBuffer) Write(p []byte) (int, error) {
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
func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return "[... " + strconv.Itoa(b.dropped) + " bytes dropped ...]\n" + string(b.buf)
	}
	return string(b.buf)
}
