package driver

import "sync"

// maxLogBytes bounds a replica's captured output; the oldest half is dropped
// past it, so a chatty replica cannot grow a test process without limit.
const maxLogBytes = 1 << 20

// logBuffer is a goroutine-safe, bounded buffer for a child's output.
type logBuffer struct {
	mu      sync.Mutex
	buf     []byte
	dropped int
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > maxLogBytes {
		cut := len(b.buf) - maxLogBytes/2
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
		return "[... " + itoa(b.dropped) + " bytes dropped ...]\n" + string(b.buf)
	}
	return string(b.buf)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}
