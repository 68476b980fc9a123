package driver

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// A launched process is told its port before it binds it, so the port must
// stay free in between. Ports the kernel hands out for ":0" (a fake's
// listener, a client socket, another FreeAddr) come from its ephemeral
// range, so FreeAddr picks below that range: nothing else in the suite's
// processes is assigned a port there. Each process walks the range from a
// random start, so parallel suite processes rarely offer the same port at
// the same moment, and a port someone holds is skipped.
const (
	portRangeLow  = 20000
	portRangeHigh = 32768 // Linux's default ephemeral start
	// portTries bounds the walk when many ports are taken.
	portTries = 200
)

var ports = struct {
	sync.Mutex
	low, span, next int
	ok              bool
}{}

// FreeAddr returns a loopback address with a port that was free a moment ago
// and that the kernel will not hand to anyone asking for any port.
func FreeAddr() (string, error) {
	ports.Lock()
	defer ports.Unlock()
	if !ports.ok {
		high := min(portRangeHigh, ephemeralStart())
		if high-portRangeLow < 1000 {
			// Too little room below the ephemeral range: let the kernel pick.
			return kernelFreeAddr()
		}
		ports.low, ports.span, ports.next, ports.ok = portRangeLow, high-portRangeLow, rand.IntN(high-portRangeLow), true
	}
	return pickPort(ports.low, ports.span, &ports.next)
}

// pickPort tries ports from low+*next on, wrapping within span, and returns
// the first it can bind; *next moves past it.
func pickPort(low, span int, next *int) (string, error) {
	for range min(portTries, span) {
		port := low + *next
		*next = (*next + 1) % span
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr, nil
	}
	return "", fmt.Errorf("find a free port: none of %d tried in %d-%d could be bound", min(portTries, span), low, low+span-1)
}

func kernelFreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

// ephemeralStart is the first port of the kernel's ephemeral range, or
// portRangeHigh where that is not readable (not Linux).
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return portRangeHigh
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return portRangeHigh
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil {
		return portRangeHigh
	}
	return n
}
