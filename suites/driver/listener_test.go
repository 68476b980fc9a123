package driver

import (
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
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

// A gateway.bin that is a script starting the real gateway: the listener
// belongs to the script's child, and counts as the replica's own.
func TestOwnsListenerOfAChildProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("listener ownership is read from /proc, on Linux only")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("needs python3 to listen from a grandchild process")
	}
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	port := portOf(addr)
	script := exec.Command("sh", "-c", `python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); print("up", flush=True); time.sleep(30)' "$0" & wait`, strconv.Itoa(port))
	script.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so that the cleanup ends the grandchild too
	out, err := script.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := script.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-script.Process.Pid, syscall.SIGKILL); script.Wait() }()
	line := make([]byte, 3)
	if _, err := io.ReadFull(out, line); err != nil || string(line) != "up\n" {
		t.Fatalf("the grandchild did not listen: %q %v", line, err)
	}
	if owns, known := ownsListener(script.Process.Pid, port); !known || !owns {
		t.Errorf("the script's child's listener on %d: owns %v, known %v", port, owns, known)
	}
}
