//go:build !linux

package stack

import "syscall"

// childProcAttr puts a child in its own process group; pid files let the
// next run stop it if devstack dies without doing so.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
