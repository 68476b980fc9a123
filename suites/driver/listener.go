package driver

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FreeAddr's port is free when it is picked, not when the replica binds it:
// in between, a replica another suite process starts may bind it first.
// The replica then exits ("address already in use"), but the readiness
// probe, sent to the port, is answered by the other replica, and a spec
// would judge a gateway it did not start. So a process replica is ready
// only once the listening socket on its port is its own.

// ownsListener reports whether process pid, or a process it started (a
// gateway.bin may be a script that starts the real gateway), holds the
// socket listening on TCP port on loopback. known is false where /proc
// cannot tell (not Linux): the caller then trusts the probe, as before.
func ownsListener(pid, port int) (owns, known bool) {
	inodes, ok := listeningInodes(port)
	if !ok {
		return false, false
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/fd", pid)); err != nil {
		return false, false
	}
	for _, p := range withDescendants(pid) {
		dir := fmt.Sprintf("/proc/%d/fd", p)
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if err != nil {
				continue
			}
			if inode, ok := strings.CutPrefix(link, "socket:["); ok && inodes[strings.TrimSuffix(inode, "]")] {
				return true, true
			}
		}
	}
	return false, true
}

// withDescendants returns pid and every process below it, from the parent
// of each process in /proc.
func withDescendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
		rest := string(stat)
		if i := strings.LastIndexByte(rest, ')'); i >= 0 {
			rest = rest[i+1:]
		}
		if f := strings.Fields(rest); len(f) >= 2 {
			if ppid, err := strconv.Atoi(f[1]); err == nil {
				children[ppid] = append(children[ppid], p)
			}
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// listeningInodes returns the inodes of the sockets in LISTEN state on
// port, from /proc/net/tcp and tcp6.
func listeningInodes(port int) (map[string]bool, bool) {
	out, read := map[string]bool{}, false
	want := fmt.Sprintf(":%04X", port)
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		read = true
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" || !strings.HasSuffix(fields[1], want) {
				continue
			}
			out[fields[9]] = true
		}
		f.Close()
	}
	return out, read
}

// portOf is the port of a host:port address, or 0.
func portOf(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return 0
	}
	p, _ := strconv.Atoi(addr[i+1:])
	return p
}
