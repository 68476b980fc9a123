package driver

// Pid is the replica's process id (for resident-memory readings).
func (r *Replica) Pid() int { return r.cmd.Process.Pid }
