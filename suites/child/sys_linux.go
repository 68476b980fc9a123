package child

import "syscall"

// dieWithParent has the kernel SIGKILL the child when its parent dies.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
