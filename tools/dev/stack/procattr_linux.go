package stack

import "syscall"

// childProcAttr puts a child in its own process group and has the kernel
// send it SIGTERM if devstack dies without stopping it (kill -9, a crash),
// so no server outlives the command that owns it.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
