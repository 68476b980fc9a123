//go:build unix

package driver

import (
	"os/exec"
	"syscall"
)

// setHookProcessGroup puts a hook in its own process group and makes a
// cancelled hook take its children (curl under sh -c) with it.
func setHookProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
