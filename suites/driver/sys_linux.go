package driver

import "syscall"

// sysProcAttr makes a replica die with the test process, so an interrupted
// run leaves no gateway behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
