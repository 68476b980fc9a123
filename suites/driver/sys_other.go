//go:build !linux

package driver

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
