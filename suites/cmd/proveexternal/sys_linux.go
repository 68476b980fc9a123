package main

import "syscall"

// dieWithParent makes a gateway started here die with this command, so an
// interrupted proof leaves no replica behind.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
