package driver

import (
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// The listening socket on a port is told apart by its owner: this process
// owns its own listener; another process (here a sleep) does not.
func TestOwnsListener(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("listener ownership is read from /proc, on Linux only")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := portOf(ln.Addr().String())
	if owns, known := ownsListener(os.Getpid(), port); !known || !owns {
		t.Errorf("this process's own listener on %d: owns %v, known %v", port, owns, known)
	}
	other := exec.Command("sleep", "30")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	if owns, known := ownsListener(other.Process.Pid, port); !known || owns {
		t.Errorf("a process without the listener on %d: owns %v, known %v", port, owns, known)
	}
	ln.Close()
	if owns, _ := ownsListener(os.Getpid(), port); owns {
		t.Errorf("a closed listener on %d still owned", port)
	}
}
