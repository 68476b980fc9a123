package driver

// Pid is the replica's process id (for resident-memory readings); for a
// container replica, the host pid of its process.
func (r *Replica) Pid() int {
	if r.ctr != nil {
		return r.ctr.rc.pid
	}
	return r.cmd.Process.Pid
}
