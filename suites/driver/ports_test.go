package driver

import (
	"net"
	"strconv"
	"testing"
)

func TestFreeAddrStaysBelowTheEphemeralRange(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		addr, err := FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		_, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		if port >= ephemeralStart() {
			t.Fatalf("FreeAddr gave %s, inside the kernel's ephemeral range from %d", addr, ephemeralStart())
		}
		if seen[addr] {
			t.Fatalf("FreeAddr gave %s twice in a row of 20", addr)
		}
		seen[addr] = true
	}
}

func TestPickPortSkipsAHeldPort(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	next := 0
	addr, err := pickPort(port, 100, &next)
	if err != nil {
		t.Fatal(err)
	}
	if _, p, _ := net.SplitHostPort(addr); p == strconv.Itoa(port) {
		t.Fatalf("pickPort gave the held port %s", addr)
	}
	if next < 2 {
		t.Fatalf("next = %d after skipping the held port and taking another, want at least 2", next)
	}
}

func TestPickPortGivesUpWhenEveryTriedPortIsHeld(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	next := 0
	if addr, err := pickPort(held.Addr().(*net.TCPAddr).Port, 1, &next); err == nil {
		t.Fatalf("pickPort gave %s though its only port is held", addr)
	}
}
