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

// ownsListener reports whether process pid holds the socket listening on
// TCP port on loopback. known is false where /proc cannot tell (not
// Linux): the caller then trusts the probe, as before.
func ownsListener(pid, port int) (owns, known bool) {
	inodes, ok := listeningInodes(port)
	if !ok {
		return false, false
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false, false
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
		if err != nil {
			continue
		}
		if inode, ok := strings.CutPrefix(link, "socket:["); ok && inodes[strings.TrimSuffix(inode, "]")] {
			return true, true
		}
	}
	return false, true
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
