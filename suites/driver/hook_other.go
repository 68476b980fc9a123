//go:build !unix

package driver

import "os/exec"

func setHookProcessGroup(*exec.Cmd) {}
